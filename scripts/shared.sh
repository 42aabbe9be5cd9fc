# Sourced by the two commands: where the shared reference data are (GEOTRANQUIL_SHARED_DIR).
# They sit beside the checkout (../shared); a clone made elsewhere (CI clones to a fresh
# folder) finds them beside the repository it was cloned from. Without them the project runs
# on its built-in coarse geography, and the tests that need them fail in CI (never skip there).
if [ -z "${GEOTRANQUIL_SHARED_DIR:-}" ] && [ ! -d ../shared/data ]; then
  origin="$(git config --get remote.origin.url 2>/dev/null || true)"
  if [ -n "$origin" ] && [ -d "$origin/../shared/data" ]; then
    GEOTRANQUIL_SHARED_DIR="$(cd "$origin/../shared" && pwd)"
    export GEOTRANQUIL_SHARED_DIR
  fi
fi
