#!/usr/bin/env bash
# Tools some suites need beyond Postgres and Redis (used by `npm test`):
# - docker-compose (Debian's package): `docker-compose config` validates docker/compose.yaml;
# - chromium (Debian's package): the browser tests drive it through playwright-core;
# - fonts-noto-color-emoji: so reactions render in the screenshots the browser suites write
#   (cosmetic: installed with the others when possible, only a warning otherwise).
# Missing ones are installed with apt-get when running as root (a fresh CI machine); otherwise
# this fails naming the command to run, so no suite is skipped silently.
set -euo pipefail

EMOJI_FONT=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
if ((${#missing[@]} == 0)) && [[ ! -e $EMOJI_FONT ]] && ! { [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; }; then
  echo "tools: no emoji font ($EMOJI_FONT): screenshots show boxes for emoji; sudo apt-get install -y fonts-noto-color-emoji" >&2
  exit 0
fi
[[ -e $EMOJI_FONT ]] || missing+=(fonts-noto-color-emoji)
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "tools: installing ${missing[*]} with apt-get (chromium takes about two minutes)..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  exit 0
fi
echo "tools: missing ${missing[*]}: run  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
exit 1
