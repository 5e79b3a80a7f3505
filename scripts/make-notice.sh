#!/usr/bin/env bash
# Makes the monitoring notice the simulator plays to a customer when a
# supervisor rejoins a call under an announcement rule (`announce: true`):
# one short line, spoken by espeak-ng and encoded as the speech clips are
# (48 kHz mono Ogg Opus, 20 ms packets; see make-assets.sh).
# Writes assets/notice/monitoring.opus, which the simulator embeds, and
# assets/notice/floorwalk-monitoring-notice.wav (8 kHz mono 16-bit, what
# Asterisk plays as is), to install in Asterisk's sounds directory for the
# gateway (docs/asterisk.md). Both committed; rerun only to change them.
# Needs: espeak-ng, sox, opusenc (Debian: espeak-ng sox opus-tools).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/assets/notice"
for tool in espeak-ng sox opusenc; do
  command -v "$tool" >/dev/null || { echo "make-notice: $tool is missing" >&2; exit 1; }
done
text="This call is being monitored."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
espeak-ng -v en-us -s 165 -w "$tmp/raw.wav" "$text"
# Louder than the clips (peaks at -3 dBFS), so it stands out in the mix.
sox "$tmp/raw.wav" -r 48000 -c 1 "$tmp/notice.wav" norm -3 pad 0.06 0.06
opusenc --quiet --bitrate 16 --framesize 20 --speech --comp 10 \
  --serial 4242 --discard-comments "$tmp/notice.wav" "$out/monitoring.opus"
sox "$tmp/notice.wav" -r 8000 -c 1 -b 16 "$out/floorwalk-monitoring-notice.wav"
echo "make-notice: \"$text\" in $out/monitoring.opus ($(du -h "$out/monitoring.opus" | cut -f1))"
