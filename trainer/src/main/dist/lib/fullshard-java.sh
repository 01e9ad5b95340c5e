# Sourced by the commands in bin/: finds a Java 25 or newer runtime and starts a main class with
# every jar in this folder on the class path.
#
# Looked for, in order: $FULLSHARD_JAVA (a java executable), $JAVA_HOME, `java` on PATH, then the
# JDKs under /usr/lib/jvm, /opt/java, /usr/local/java, ~/.jdks and ~/.sdkman/candidates/java.
# Extra JVM options: $FULLSHARD_JAVA_OPTS.

fullshard_java_major() {
  "$1" -version 2>&1 | sed -nE '1s/.*version "([0-9]+)[^"]*".*/\1/p'
}

fullshard_find_java() {
  local candidates=()
  [ -n "${FULLSHARD_JAVA:-}" ] && candidates+=("$FULLSHARD_JAVA")
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
  local d
  for d in /usr/lib/jvm/* /opt/java/* /usr/local/java/* "$HOME"/.jdks/* "$HOME"/.sdkman/candidates/java/*; do
    [ -x "$d/bin/java" ] && candidates+=("$d/bin/java")
  done
  local c major
  for c in "${candidates[@]}"; do
    [ -x "$c" ] || continue
    major=$(fullshard_java_major "$c")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then
      echo "$c"
      return 0
    fi
  done
  echo "fullshard: no Java 25 or newer found. Looked at \$FULLSHARD_JAVA, \$JAVA_HOME, java on PATH," >&2
  echo "  /usr/lib/jvm/*, /opt/java/*, /usr/local/java/*, ~/.jdks/*, ~/.sdkman/candidates/java/*." >&2
  echo "  Install a JDK 25 (e.g. Temurin) or set FULLSHARD_JAVA=/path/to/bin/java." >&2
  return 1
}

fullshard_exec() {
  local main=$1
  shift
  local lib java
  lib="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  java=$(fullshard_find_java) || exit 1
  # shellcheck disable=SC2086 # FULLSHARD_JAVA_OPTS is a list of options
  exec "$java" --enable-native-access=ALL-UNNAMED ${FULLSHARD_JAVA_OPTS:-} -cp "$lib/*" "$main" "$@"
}
