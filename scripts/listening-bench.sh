#!/bin/sh
# Runs benches/listening.rs against a clocked audio device: a private
# PulseAudio server with a null sink (paced by the system clock), reached
# through ALSA's pulse plugin, so cpal plays to it as to a sound card.
# Needs: apt-get install pulseaudio libasound2-plugins
# Usage: scripts/listening-bench.sh [clean|jitter30|jitter80|drift+1|drift-1]...
set -eu
command -v pulseaudio >/dev/null || {
    echo "needs PulseAudio: sudo apt-get install -y pulseaudio libasound2-plugins" >&2
    exit 1
}
dir=$(mktemp -d)
trap 'pulseaudio --kill >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
export HOME="$dir" XDG_RUNTIME_DIR="$dir/run"
mkdir -p "$XDG_RUNTIME_DIR"
cat > "$dir/default.pa" <<PA
load-module module-null-sink sink_name=bench rate=48000 channels=2
load-module module-native-protocol-unix
set-default-sink bench
PA
cat > "$dir/asound.conf" <<ALSA
</usr/share/alsa/alsa.conf>
pcm.!default { type pulse }
ctl.!default { type pulse }
ALSA
pulseaudio --daemonize=yes --exit-idle-time=-1 -n -F "$dir/default.pa" \
    --log-target=file:"$dir/pulse.log"
ALSA_CONFIG_PATH="$dir/asound.conf" cargo bench --bench listening -- "$@"
