//! Training across MPI ranks, launched by Open MPI's `mpirun` on this
//! machine (CPU backend, one rank per process): two ranks take the same
//! steps as one process with the same global batch, a two-rank run resumes
//! as one process, a rank killed mid-run stops the whole job and leaves a
//! checkpoint that loads, and ranks started with different settings refuse
//! to train.
#![cfg(feature = "mpi")]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use smae_testkit::{checkpoint_weights as weights, data, max_abs_diff, Scratch, TINY_PRETRAIN};

const BIN: &str = env!("CARGO_BIN_EXE_smae-train");

/// 48 real 32 px chips cut from the NEON orthophoto: 6 steps of 8.
fn chips(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("chips");
    std::fs::create_dir_all(&out).unwrap();
    let img = image::open(data("deepforest/OSBS_029.tif"))
        .unwrap()
        .to_rgb8();
    for k in 0..48u32 {
        let (x, y) = ((k % 8) * 48, (k / 8) * 48);
        image::imageops::crop_imm(&img, x, y, 32, 32)
            .to_image()
            .save(out.join(format!("chip_{k:02}.png")))
            .unwrap();
    }
    out
}

fn args<'a>(data: &'a Path, out: &'a Path, batch: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "pretrain",
        "--data",
        data.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--quiet",
        "--workers",
        "1",
        "--device",
        "cpu",
        "--batch-size",
        batch,
        "--epochs",
        "1",
        "--lr",
        "2e-3",
        "--warmup-epochs",
        "0.2",
        "--log-every",
        "1",
        "--seed",
        "3",
    ];
    a.extend_from_slice(TINY_PRETRAIN);
    a.extend_from_slice(extra);
    a
}

/// `mpirun -np 2` with what Open MPI needs here: more ranks than cores,
/// permission to run as root (CI containers), and a time limit, so that a
/// deadlock between ranks fails the test instead of hanging CI.
fn mpirun() -> Command {
    let mut c = Command::new("mpirun");
    c.args(["--oversubscribe", "--bind-to", "none", "--timeout", "600"])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    c
}

fn check(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn single(a: &[&str]) -> Output {
    check(Command::new(BIN).args(a).output().unwrap(), "smae-train")
}

fn two_ranks(a: &[&str]) -> Output {
    let out = mpirun().args(["-np", "2", BIN]).args(a).output().unwrap();
    check(out, "mpirun -np 2 smae-train")
}

/// One rank with arguments `a`, the other with `b` (MPI's MPMD form).
fn one_rank_each<S: AsRef<std::ffi::OsStr>>(a: &[S], b: &[S]) -> Output {
    mpirun()
        .args(["-np", "1", BIN])
        .args(a)
        .args([":", "-np", "1", BIN])
        .args(b)
        .output()
        .unwrap()
}

/// The ranks stopped with `message` on stderr.
fn assert_refused(out: &Output, message: &str) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(message), "{err}");
}

/// The run's `config.json` (written by rank 0).
fn config(run: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap()
}

fn losses(run: &Path) -> Vec<(u64, f64)> {
    std::fs::read_to_string(run.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["step"].as_u64().unwrap(), v["loss"].as_f64().unwrap())
        })
        .collect()
}

/// Two ranks of 4 images equal one process of 8, step for step; stopped
/// after 3 steps and resumed as one process, the run ends where the
/// uninterrupted one-process run ends.
#[test]
fn two_ranks_match_one_process_and_resume_as_one() {
    let dir = Scratch::new("mpi-equal");
    let data = chips(&dir);
    let one = dir.join("one");
    single(&args(&data, &one, "8", &[]));

    let two = dir.join("two");
    two_ranks(&args(&data, &two, "4", &["--stop-after-steps", "3"]));
    let cfg = config(&two);
    assert_eq!(
        cfg["global_batch"], 8,
        "global batch = 4 per rank x 2 ranks"
    );
    single(&args(&data, &two, "4", &["--resume"]));

    assert_same_run(&one, &two, 6);
}

/// A private one-node Slurm cluster (scripts/slurm_local.sh), stopped when
/// dropped.
struct Slurm {
    dir: std::path::PathBuf,
    conf: String,
}

impl Slurm {
    fn script() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/slurm_local.sh")
    }

    fn start(dir: &Path) -> Self {
        let out = check(
            Command::new(Self::script())
                .arg("start")
                .arg(dir)
                .output()
                .unwrap(),
            "scripts/slurm_local.sh start",
        );
        Slurm {
            dir: dir.to_path_buf(),
            conf: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        }
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        let _ = Command::new(Self::script())
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

/// `srun` starts the ranks as mpirun does (Slurm's PMIx, no mpirun): two
/// Slurm tasks of 4 images take the same steps as one process of 8.
#[test]
fn two_slurm_tasks_match_one_process() {
    let dir = Scratch::new("slurm");
    let data = chips(&dir);
    let one = dir.join("one");
    single(&args(&data, &one, "8", &[]));

    let cluster = Slurm::start(&dir.join("cluster"));
    let two = dir.join("two");
    let out = Command::new("srun")
        .args([
            "--ntasks",
            "2",
            "--mpi=pmix",
            "--time",
            "10",
            "--kill-on-bad-exit=1",
        ])
        .arg(BIN)
        .args(args(&data, &two, "4", &[]))
        .env("SLURM_CONF", &cluster.conf)
        .output()
        .unwrap();
    check(out, "srun --ntasks 2 smae-train");
    drop(cluster);
    let cfg = config(&two);
    assert_eq!(cfg["global_batch"], 8, "4 per task x 2 Slurm tasks");
    assert_same_run(&one, &two, 6);
}

/// Runs `one` (a single process) and `two` (ranks, resumed) logged the same
/// `steps` steps once each, with losses within 1e-4 and weights within 5e-4.
fn assert_same_run(one: &Path, two: &Path, steps: usize) {
    let (l1, l2) = (losses(one), losses(two));
    assert_eq!(l1.len(), steps);
    assert_eq!(
        l1.iter().map(|s| s.0).collect::<Vec<_>>(),
        l2.iter().map(|s| s.0).collect::<Vec<_>>(),
        "one log line per step, written once (rank 0)"
    );
    for ((step, x), (_, y)) in l1.iter().zip(&l2) {
        assert!((x - y).abs() < 1e-4, "step {step}: loss {x} vs {y}");
    }
    // As in the in-process data-parallel test: summation order differs, and
    // AdamW can turn that rounding into a fraction of one lr-sized step.
    let diff = max_abs_diff(&weights(one), &weights(two));
    assert!(diff < 5e-4, "weights differ by {diff}");
}

/// A rank killed mid-run takes the job down with a non-zero exit, and the
/// last checkpoint is intact: one process resumes from it.
#[test]
fn a_dead_rank_stops_every_rank_and_the_checkpoint_loads() {
    let dir = Scratch::new("mpi-kill");
    let data = chips(&dir);
    let run = dir.join("run");
    let mut a = args(&data, &run, "4", &["--save-every-steps", "1"]);
    let epochs = a.iter().position(|x| *x == "--epochs").unwrap() + 1;
    a[epochs] = "200";
    let mut job = mpirun()
        .args(["-np", "2", BIN])
        .args(&a)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !run.join("checkpoint/trainer.json").exists() || losses_len(&run) < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no checkpoint yet"
        );
        assert!(job.try_wait().unwrap().is_none(), "the job ended early");
        std::thread::sleep(Duration::from_millis(200));
    }
    let ranks = String::from_utf8(
        Command::new("pgrep")
            .args(["-P", &job.id().to_string()])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let victim = ranks.lines().last().expect("mpirun has rank processes");
    assert!(Command::new("kill")
        .args(["-9", victim])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = job.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = job.kill();
            panic!("the surviving rank did not stop after its peer died");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(!status.success(), "the job must fail when a rank dies");
    let done = losses_len(&run) as u64;
    let stop = (done + 1).to_string();
    single(&args(
        &data,
        &run,
        "4",
        &["--resume", "--stop-after-steps", &stop],
    ));
    assert!(losses(&run).iter().any(|(s, _)| *s == done + 1));
}

fn losses_len(run: &Path) -> usize {
    std::fs::read_to_string(run.join("log.jsonl")).map_or(0, |s| s.lines().count())
}

/// Ranks that resolve different configurations (here: seeds) stop at once
/// with one clear message, before any training.
#[test]
fn ranks_with_different_settings_refuse_to_start() {
    let dir = Scratch::new("mpi-mismatch");
    let data = chips(&dir);
    let run = dir.join("run");
    let a = args(&data, &run, "4", &[]);
    let mut b = a.clone();
    let seed = a.iter().position(|x| *x == "--seed").unwrap() + 1;
    b[seed] = "4";
    assert_refused(&one_rank_each(&a, &b), "different configurations");
    assert!(!run.join("checkpoint").exists());
}

/// Under MPI each rank drives one device: a rank given several is refused
/// before anything is written.
#[test]
fn a_rank_with_several_devices_is_refused() {
    let dir = Scratch::new("mpi-devices");
    let data = chips(&dir);
    let run = dir.join("run");
    let mut a = args(&data, &run, "4", &[]);
    let device = a.iter().position(|x| *x == "--device").unwrap() + 1;
    a[device] = "cpu:2";
    let out = mpirun().args(["-np", "2", BIN]).args(&a).output().unwrap();
    assert_refused(&out, "each rank drives one");
    assert!(!run.exists() || !run.join("checkpoint").exists());
}

/// Fine-tuning across ranks: a classifier trained on two ranks of 4 images
/// takes the same steps as one process of 8 (augmentations are drawn by
/// global position, gradients averaged over ranks), and the two-rank run
/// resumes as one process.
#[test]
fn finetuning_on_two_ranks_matches_one_process() {
    let dir = Scratch::new("mpi-finetune");
    let chips = chips(&dir);
    // Two classes: the first and the second half of the chips.
    let cls = dir.join("cls");
    for (k, entry) in std::fs::read_dir(&chips).unwrap().enumerate() {
        let path = entry.unwrap().path();
        let class = cls.join(if k % 2 == 0 { "a" } else { "b" });
        std::fs::create_dir_all(&class).unwrap();
        std::fs::copy(&path, class.join(path.file_name().unwrap())).unwrap();
    }
    let finetune = |out: &Path, batch: &'static str, extra: &[&'static str]| {
        let mut a: Vec<String> = ["finetune", "--task", "classify", "--init", "none", "--data"]
            .map(String::from)
            .to_vec();
        a.push(cls.to_str().unwrap().into());
        a.push("--output".into());
        a.push(out.to_str().unwrap().into());
        #[rustfmt::skip]
        let rest = [
            "--model", "vit-tiny", "--img-size", "32", "--patch-size", "4", "--dim", "32",
            "--depth", "1", "--heads", "2", "--epochs", "2", "--lr", "1e-3",
            "--warmup-epochs", "0.5", "--drop-path", "0", "--log-every", "1", "--seed", "5",
            "--quiet", "--workers", "1", "--device", "cpu", "--batch-size", batch,
        ];
        a.extend(rest.iter().chain(extra).map(|s| s.to_string()));
        a
    };
    let one = dir.join("one");
    let a = finetune(&one, "8", &["--stop-after-steps", "5"]);
    single(&a.iter().map(String::as_str).collect::<Vec<_>>());

    let two = dir.join("two");
    let a = finetune(&two, "4", &["--stop-after-steps", "3"]);
    two_ranks(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let cfg = config(&two);
    assert_eq!(
        cfg["batch_size"], 8,
        "the run's batch = 4 per rank x 2 ranks"
    );
    #[rustfmt::skip]
    single(&[
        "finetune", "--task", "classify", "--output", two.to_str().unwrap(), "--resume",
        "--stop-after-steps", "5", "--quiet", "--workers", "1", "--device", "cpu",
    ]);

    assert_same_run(&one, &two, 5);
}

/// Curation across ranks: each rank scans and hashes every other file of
/// the test rasters into its own scan log, rank 0 deduplicates and writes;
/// the corpus (manifest, report, shards) is the one a single process writes.
#[test]
fn curation_on_two_ranks_matches_one_process() {
    let dir = Scratch::new("mpi-curate");
    let curate = |out: &Path| -> Vec<String> {
        #[rustfmt::skip]
        let a = [
            "curate", "--input", &format!("test={}", smae_testkit::data_dir().display()),
            "--output", out.to_str().unwrap(), "--crop", "256", "--max-side", "512",
            "--shard-size", "20", "--quiet", "--workers", "1",
        ];
        a.iter().map(|s| s.to_string()).collect()
    };
    let (one, two) = (dir.join("one"), dir.join("two"));
    single(&curate(&one).iter().map(String::as_str).collect::<Vec<_>>());
    two_ranks(&curate(&two).iter().map(String::as_str).collect::<Vec<_>>());

    // The scan was split: both ranks hashed files, none twice.
    let lines = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["path"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let (r0, r1) = (
        lines(&two.join(".curate/scan.r0.jsonl")),
        lines(&two.join(".curate/scan.r1.jsonl")),
    );
    let all = lines(&one.join(".curate/scan.jsonl"));
    assert!(!r0.is_empty() && !r1.is_empty(), "{r0:?} {r1:?}");
    assert!(r0.iter().all(|p| !r1.contains(p)), "a file scanned twice");
    assert_eq!(r0.len() + r1.len(), all.len());
    assert!(
        lines(&two.join(".curate/scan.jsonl")).is_empty(),
        "rank 0 rescanned"
    );

    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
    assert_eq!(read(&one, "manifest.jsonl"), read(&two, "manifest.jsonl"));
    assert_eq!(read(&one, "report.json"), read(&two, "report.json"));
    let shards = |d: &Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "tar"))
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let (s1, s2) = (shards(&one), shards(&two));
    assert!(s1.len() >= 2, "{} shards", s1.len());
    assert!(s1 == s2, "the shards differ");
}

/// Curation ranks given different options (here the crop size) refuse to
/// start, before writing a shard.
#[test]
fn curation_ranks_with_different_options_refuse_to_start() {
    let dir = Scratch::new("mpi-curate-mismatch");
    let out = dir.join("out");
    let input = format!("test={}", smae_testkit::data_dir().display());
    let rank = |crop: &'static str| {
        let out = out.to_str().unwrap();
        #[rustfmt::skip]
        let a = [
            "curate", "--input", input.as_str(), "--output", out, "--crop", crop,
            "--quiet", "--workers", "1",
        ];
        a.map(str::to_string)
    };
    assert_refused(
        &one_rank_each(&rank("256"), &rank("128")),
        "different configurations",
    );
    assert!(!out.join("manifest.jsonl").exists());
}
