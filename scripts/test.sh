#!/usr/bin/env bash
# The whole test suite, as the README and CI run it. Installs what the tests need when it is
# missing: promtool, amtool and the Prometheus and Alertmanager servers from Debian's
# `prometheus` and `prometheus-alertmanager` packages, and Debian's `chromium` (the HTML report
# is rendered headless). Tests that need a tool fail (not skip) when it is absent and CI is set.
set -euo pipefail
cd "$(dirname "$0")/.."

need_install=()
command -v promtool >/dev/null 2>&1 || need_install+=(prometheus)
command -v prometheus >/dev/null 2>&1 || need_install+=(prometheus)
command -v amtool >/dev/null 2>&1 || need_install+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || need_install+=(chromium)
command -v openssl >/dev/null 2>&1 || need_install+=(openssl)
if [ ${#need_install[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "==> installing ${need_install[*]} (for promtool, amtool, real servers and headless Chromium in tests)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    $(printf '%s\n' "${need_install[@]}" | sort -u)
  # Debian starts the packaged services where it can; the tests start their own.
  for svc in prometheus prometheus-alertmanager prometheus-node-exporter; do
    $sudo service "$svc" stop >/dev/null 2>&1 || true
  done
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
echo "==> cargo clippy --no-default-features -- -D warnings (the exporter without simulators)"
cargo clippy --no-default-features --locked -- -D warnings
echo "==> cargo test"
cargo test --locked --all-targets
