# Sourced by cross-test and check: a fresh aggregator of this machine on loopback, not reading
# what arrives (these check carrying files). `start_aggregator DIR` starts `$YINGJIAN_AGGREGATOR`
# on a data folder in DIR, adds its process to `pids`, and prints `url|police|office|data`:
# its address, a token of the police department, the office's, its data folder.
start_aggregator() {
  local dir=$1 said
  printf 'data = "%s/data"\n[reading]\nenabled = false\n' "$dir" >"$dir/aggregator.toml"
  local police office line
  police=$("$YINGJIAN_AGGREGATOR" token create --config "$dir/aggregator.toml" --dept police --agent pc-1)
  office=$("$YINGJIAN_AGGREGATOR" token create --config "$dir/aggregator.toml" --office)
  # Its first line says where it listens; the pipe stays open for what it may say later.
  mkfifo "$dir/said"
  "$YINGJIAN_AGGREGATOR" serve --listen 127.0.0.1:0 --config "$dir/aggregator.toml" >"$dir/said" 2>"$dir/log" &
  pids+=("$!")
  exec {said}<"$dir/said"
  read -r line <&"$said"
  echo "${line##* }|$police|$office|$dir/data"
}
