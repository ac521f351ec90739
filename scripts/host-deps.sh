#!/usr/bin/env bash
# Debian packages the host needs: debootstrap (builds the Asterisk chroot),
# espeak-ng and sox (record prompts from text), chromium (the web interface's
# browser tests, driven by Playwright; never `playwright install`). Installed
# once, only if missing.
set -euo pipefail
missing=()
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v sox >/dev/null 2>&1 || missing+=(sox)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "centralino: error: missing ${missing[*]}: run 'sudo apt-get install ${missing[*]}'" >&2
  exit 2
fi
echo "installing ${missing[*]} from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q "${missing[@]}" >/dev/null
