//! Runs an embedded cluster for a while and prints its kubeconfig path:
//! `cargo run -p windlass-embedded-cluster --example serve -- [seconds] [data-dir]`.

use std::time::Duration;

use windlass_embedded_cluster::{Config, EmbeddedCluster};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(600);
    let config = Config {
        data_dir: args.next().map(Into::into),
        ..Config::default()
    };
    let cluster = EmbeddedCluster::start(config).await?;
    // An example binary, not the library: printing is its job.
    println!("export KUBECONFIG={}", cluster.kubeconfig_path().display());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    cluster.shutdown().await;
    Ok(())
}
