#!/usr/bin/env bash
# System tools the demo corpus uses for its TTS attacks (espeak-ng, flite, festival + a voice).
# Idempotent; needs apt-get and root (or sudo). Missing tools only disable those attacks, so failures are warnings.
set -u
need=()
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v flite >/dev/null || need+=(flite)
command -v text2wave >/dev/null || need+=(festival festvox-kallpc16k)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "apt-get not found: install ${need[*]} with your package manager for the demo's TTS attacks" >&2; exit 1
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
