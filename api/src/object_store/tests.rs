//! One suite that every object store plugin passes, against real storage:
//! a directory, and an S3-compatible server (`s3s-fs`) the test starts.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::*;
use crate::config::Secret;

/// Larger than two S3 parts, streamed from a generator: never in memory.
const BIG: u64 = 17 * 1024 * 1024;

async fn hash_stream(mut r: ObjectReader) -> (u64, String) {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        let got = r.read(&mut buf).await.unwrap();
        if got == 0 {
            return (n, hex::encode(hasher.finalize()));
        }
        n += got as u64;
        hasher.update(&buf[..got]);
    }
}

pub(crate) async fn suite(store: &dyn ObjectStore) {
    let text = b"stage \"s\" {\n  task \"t\" {}\n}\n";
    store.put("templates/p/one.hcl", text).await.unwrap();
    let back = store.get("templates/p/one.hcl").await.unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&back)),
        hex::encode(Sha256::digest(text))
    );
    // Replaced whole.
    store.put("templates/p/one.hcl", b"second").await.unwrap();
    assert_eq!(store.get("templates/p/one.hcl").await.unwrap(), b"second");

    let big = Box::new(tokio::io::repeat(b'p').take(BIG));
    assert_eq!(
        store.put_stream("binaries/big.bin", big).await.unwrap(),
        BIG
    );
    let (n, hash) = hash_stream(store.get_stream("binaries/big.bin").await.unwrap()).await;
    let (_, want) = hash_stream(Box::new(tokio::io::repeat(b'p').take(BIG))).await;
    assert_eq!((n, hash), (BIG, want));

    assert!(matches!(
        store.get("templates/p/missing.hcl").await,
        Err(ObjectStoreError::NotFound(k)) if k == "templates/p/missing.hcl"
    ));
    for bad in ["../escape", "a//b", "", "a/./b", "spa ce"] {
        assert!(
            matches!(store.put(bad, b"x").await, Err(ObjectStoreError::BadKey(_))),
            "{bad:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_passes_the_suite() {
    let dir = std::env::temp_dir().join(format!("phobos-objects-{}", uuid::Uuid::new_v4()));
    suite(&Filesystem::new(dir.clone())).await;
    let _ = std::fs::remove_dir_all(dir);
}

const ACCESS_KEY: &str = "phobos-test-key";
const SECRET_KEY: &str = "phobos-test-secret-3f9a";

/// A running `s3s-fs`, stopped when dropped.
struct S3Server {
    child: Child,
    port: u16,
    root: PathBuf,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn s3s_fs() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PHOBOS_TEST_S3S_FS") {
        return Some(p.into());
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(home.map(|h| h.join(".cargo/bin")))
        .map(|d| d.join("s3s-fs"))
        .find(|p| p.is_file())
}

/// Starts `s3s-fs` with bucket `phobos`, or says why the test is skipped
/// (it is not skipped under CI, whose `.ci/run` installs it).
fn start_s3() -> Option<S3Server> {
    let Some(bin) = s3s_fs() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "s3s-fs is not installed; .ci/run installs it (cargo install s3s-fs@0.14.1 --locked --features binary)"
        );
        println!("SKIPPED: s3s-fs is not installed (cargo install s3s-fs@0.14.1 --locked --features binary)");
        return None;
    };
    let root = std::env::temp_dir().join(format!("phobos-s3-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(root.join("phobos")).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
        .arg(&root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start s3s-fs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s3s-fs did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(S3Server { child, port, root })
}

async fn s3(server: &S3Server, bucket: &str, secret: &str) -> S3 {
    S3::new(
        bucket,
        "us-east-1",
        Some(ACCESS_KEY),
        Some(&Secret(secret.into())),
        Some(&format!("http://127.0.0.1:{}", server.port)),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_passes_the_suite() {
    let Some(server) = start_s3() else { return };
    let store = s3(&server, "phobos", SECRET_KEY).await;
    store.check().await.unwrap();
    suite(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_names_a_missing_bucket_and_a_refused_key() {
    let Some(server) = start_s3() else { return };
    let missing = s3(&server, "no-such-bucket", SECRET_KEY)
        .await
        .check()
        .await
        .unwrap_err();
    assert!(
        missing.contains("PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET") && missing.contains("404"),
        "{missing}"
    );
    let refused = s3(&server, "phobos", "a-wrong-secret")
        .await
        .check()
        .await
        .unwrap_err();
    assert!(
        refused.contains("PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY")
            && refused.contains("403"),
        "{refused}"
    );
    assert!(
        !refused.contains("a-wrong-secret"),
        "the secret is in the message"
    );
}
