//! Scenes on a web server, as COGs on object storage are: smae-infer reads
//! `/vsicurl/` paths and plain `https://` URLs (STAC asset hrefs) through
//! GDAL's range requests, gives the class map it gives for the local file,
//! and fetches a small share of the file for a small window. The server
//! (tests/range_server.py, Python's standard library only) runs on
//! 127.0.0.1 for the test.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{data, fixture, scratch};
use gdal::raster::RasterCreationOptions;
use gdal::{Dataset, DriverManager};
use smae_geom::tiling::Window;
use smae_infer::raster::{ReadSpec, Scene};
use smae_infer::{Backend, Model, ModelOptions, RunOptions};

/// The range server on `dir`, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/range_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the range server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the server prints its port");
        Self { child, port }
    }

    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    /// Body bytes sent since the last call.
    fn bytes_sent(&self) -> u64 {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(s, "GET /__bytes HTTP/1.0\r\n\r\n").unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        r.rsplit("\r\n\r\n").next().unwrap().trim().parse().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn class_map(model: &mut Model, input: &Path) -> Vec<u8> {
    let opts = RunOptions {
        quiet: true,
        ..Default::default()
    };
    model
        .class_map(input, &opts)
        .unwrap_or_else(|e| panic!("{}: {e:#}", input.display()))
        .0
}

#[test]
fn remote_cog_reads_like_the_local_file() {
    let dir = scratch("remote");
    // a COG of the Landsat scene (791 x 718, 3 bands), 256 px tiles
    let cog = dir.join("landsat_cog.tif");
    let opts = RasterCreationOptions::from_iter(["COMPRESS=DEFLATE", "BLOCKSIZE=256"]);
    Dataset::open(data("rasterio/RGB.byte.tif"))
        .unwrap()
        .create_copy(
            &DriverManager::get_driver_by_name("COG").unwrap(),
            &cog,
            &opts,
        )
        .unwrap();
    let size = std::fs::metadata(&cog).unwrap().len();
    let server = Server::start(&dir);
    let mut m = Model::open(
        &fixture("pointwise_segment.onnx"),
        &ModelOptions {
            backend: Backend::Tract,
            threads: 1,
            ..Default::default()
        },
    )
    .unwrap();

    let local = class_map(&mut m, &cog);
    server.bytes_sent();
    let vsicurl = format!("/vsicurl/{}", server.url("landsat_cog.tif"));
    assert_eq!(class_map(&mut m, Path::new(&vsicurl)), local);
    let whole = server.bytes_sent();
    // a plain URL (a STAC asset href) goes through /vsicurl/ too
    assert_eq!(
        class_map(&mut m, Path::new(&server.url("landsat_cog.tif"))),
        local
    );
    server.bytes_sent();

    // one 64 px window: the header and the tile holding it, not the file
    // (a second copy: GDAL caches what it fetched of the first)
    std::fs::copy(&cog, dir.join("landsat_cog2.tif")).unwrap();
    let fresh = format!("/vsicurl/{}", server.url("landsat_cog2.tif"));
    let scene = Scene::open(Path::new(&fresh)).unwrap();
    let spec = ReadSpec {
        bands: vec![1, 2, 3],
        size: 64,
        scale: 1.0,
        mean: vec![0.0; 3],
        std: vec![1.0; 3],
        graph_normalises: false,
        nodata: None,
    };
    let win = Window {
        x: 300,
        y: 300,
        size: 64,
    };
    let tile = scene.read(win, [300, 300, 364, 364], &spec).unwrap();
    assert!(tile.valid_count > 0);
    let window = server.bytes_sent();
    eprintln!(
        "remote COG of {size} bytes: the whole scene fetched {whole} bytes, opening it and reading one 64 x 64 window {window} bytes ({:.1}%)",
        100.0 * window as f64 / size as f64
    );
    assert!(whole >= size / 2, "{whole} of {size}");
    assert!(window * 4 < size, "{window} of {size}");

    // an unreachable URL: one clear error
    let gone = format!("/vsicurl/{}", server.url("missing.tif"));
    let err = format!("{:#}", Scene::open(Path::new(&gone)).err().unwrap());
    assert!(
        err.contains("cannot open") && err.contains("missing.tif"),
        "{err}"
    );
}
