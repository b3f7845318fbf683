//! Writes the classification and segmentation sets cut from OSBS_029
//! (`smae_tests::neon_tasks`) into a folder, for scripts/study.sh:
//! `cargo run -p smae-tests --example neon_tasks -- OUT`.

fn main() {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("error: usage: neon_tasks OUT");
        std::process::exit(2);
    };
    smae_tests::neon_tasks(std::path::Path::new(&out));
}
