//! Blob uploads in blocks at several concurrencies, for the choice of `UPLOAD_CONCURRENCY`
//! (bench/blob-bench.sh runs it with CONCURRENCY set, beside curl's one Put Blob of the same
//! file in the same run). Figures, not a test.
//!
//! ```text
//! cargo bench --bench upload_concurrency -- <account-url> <container> <local> <block-bytes|default> <concurrency>...
//! ```
//!
//! For each concurrency, one upload of `<local>` to `<container>/concurrency-<n>.bin`
//! (overwrite) with `Blob::with_concurrency(n)`, in blocks (a file up to the single-request
//! size goes in one Put Blob whatever the concurrency: give a block size, which is then also
//! the largest single request, to see blocks with a small file). The identity is the
//! system-assigned one at `AZMI_IMDS_ENDPOINT`; `AZMI_CA_FILE` is trusted. Before the clock:
//! creating the container (the token and the first connection). Prints one line per
//! concurrency: "concurrency <n> upload <bytes> bytes <seconds> s".

use std::time::Instant;

use azmi::{Azmi, IdentityId, ManagedIdentity};

fn main() {
    // `cargo bench` adds "--bench"; `cargo test --bench` (the smoke run) does not.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.len() < 5 {
        eprintln!(
            "usage: upload_concurrency <account-url> <container> <local> <block-bytes|default> <concurrency>..."
        );
        std::process::exit(2);
    }
    let (account, container, local) = (&args[0], &args[1], std::path::Path::new(&args[2]));
    let block: Option<usize> = match args[3].as_str() {
        "default" => None,
        bytes => Some(bytes.parse().expect("a block size in bytes")),
    };
    let endpoint = std::env::var("AZMI_IMDS_ENDPOINT").expect("AZMI_IMDS_ENDPOINT");
    // As the engine the C ABI blocks on (src/runtime.rs): two workers.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let azmi = Azmi::new().unwrap();
        let mi = ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, &endpoint).unwrap();
        let mut blob = azmi.blob(account, &mi).unwrap();
        if let Some(bytes) = block {
            blob = blob.with_block_size(bytes).unwrap();
        }
        blob.create_container(container).await.unwrap();
        for n in &args[4..] {
            let n: usize = n.parse().expect("a concurrency");
            let blob = blob.clone().with_concurrency(n).unwrap();
            let name = format!("concurrency-{n}.bin");
            let start = Instant::now();
            let bytes = blob
                .upload(local, container, &name, true, |_, _| {})
                .await
                .unwrap_or_else(|e| panic!("the upload at concurrency {n} failed: {e}"));
            let secs = start.elapsed().as_secs_f64();
            println!("concurrency {n} upload {bytes} bytes {secs:.3} s");
        }
    });
}
