# Shared by scripts/run and scripts/test: the project's virtual environment, created when missing
# and reinstalled only when pyproject.toml changes.
VENV="${UNROLL_VENV:-.venv}"

ensure_venv() {
  local extras="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating virtual environment $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
  fi
  local target="." stamp="$VENV/.unroll-installed-${extras:-base}" want
  [ -n "$extras" ] && target=".[$extras]"
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing Unroll and its dependencies into $VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e "$target"
    echo "$want" > "$stamp"
  fi
}
