// Records the git revision for `backup_exporter_build_info`. A build outside a checkout (a
// source tarball, a container build without .git) says "unknown" rather than failing.
fn main() {
    let rev = std::env::var("BACKUP_EXPORTER_REVISION")
        .ok()
        .or_else(|| {
            std::process::Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=BACKUP_EXPORTER_REVISION={rev}");
    println!("cargo:rerun-if-env-changed=BACKUP_EXPORTER_REVISION");
    println!("cargo:rerun-if-changed=.git/HEAD");
}
