#!/usr/bin/env bash
# Installs what Satchel needs to build and run on Debian, skipping what is there:
# a C toolchain and pkg-config (cgo), libvips (image inspection and transforms),
# ffmpeg (video inspection and conversion), LibreOffice without its GUI plus
# poppler's tools (document conversion), clamav-daemon (virus scan add-on) and
# opencv-data (the Haar cascade of the face detector; no OpenCV library).
# Go itself must be installed (see go.mod for the version).
set -euo pipefail

need=()
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists vips 2>/dev/null || need+=(libvips-dev)
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
command -v vips >/dev/null 2>&1 || need+=(libvips-tools)
# OpenCV's face cascades (XML only), read by --face-cascade and the imaging tests.
[ -f /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml ] || need+=(opencv-data)
# Document conversion: Writer, Calc and Impress headless (not the whole suite),
# and pdfinfo/pdftoppm for page counts and page images.
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
# clamd for the uc_clamav_virus_scan add-on (tests start it with scripts/clamd.sh).
command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ] || need+=(clamav-daemon)

if ((${#need[@]})); then
  echo "satchel: installing ${need[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "satchel: Go is not installed; install the version named in go.mod" >&2
    exit 1
  fi
fi
