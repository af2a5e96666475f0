# Sourced by test.sh, demo.sh and bench/run: installs missing Debian packages with apt-get.
#   need_packages NAME MODE COMMAND:PACKAGE...
# Each PACKAGE is installed when its COMMAND is not on PATH. When apt-get fails: one line, exit 2.
# When it cannot be tried (not root, no apt-get): MODE "required" prints one line naming what is missing
# and exits 2; MODE "optional" says the tests that need it will skip, and carries on.
need_packages() {
  local name=$1 mode=$2 pair missing=()
  shift 2
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$name: installing ${missing[*]}" >&2
    if DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
      return 0
    fi
    echo "$name: apt-get could not install ${missing[*]}" >&2
    exit 2
  else
    echo "$name: missing ${missing[*]} (installing them needs root and apt-get)" >&2
  fi
  if [ "$mode" = required ]; then
    exit 2
  fi
  echo "$name: the tests that need ${missing[*]} will skip" >&2
}
