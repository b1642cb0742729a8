#!/usr/bin/env bash
# Fonts for the tracker benchmark (benchmarks/bench_tracker.py): typefaces the OCR parser was
# NOT tuned on (tuning uses DejaVu and Pillow's bundled font), including handwriting-like ones.
# Idempotent: installs only what is missing. Tests never need these fonts.
set -euo pipefail

PACKAGES=(
  fonts-liberation2      # Arial/Times/Courier metrics
  fonts-open-sans
  fonts-lato
  fonts-freefont-ttf
  fonts-comic-neue       # handwriting-like
  fonts-humor-sans       # handwriting-like
  fonts-dkg-handwriting  # a real person's handwriting
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_fonts: all ${#PACKAGES[@]} font packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install_fonts: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fc-cache -f >/dev/null 2>&1 || true
