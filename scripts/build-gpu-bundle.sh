#!/usr/bin/env bash
# Builds gpu-bundle/: what a GPU machine without Java needs to run fullshard (scripts/gpu-check.sh).
#
# Usage: scripts/build-gpu-bundle.sh [--skip-build] [--no-test]
#   --skip-build  reuse target/ (default: mvn -q -B -ntp package -DskipTests first; $MVN_ARGS are added)
#   --no-test     skip the CPU self-test of the bundle (java, doctor, a 3-step launcher run)
#
# gpu-bundle/
#   java.tar.xz  a jlinked Java 25 runtime (modules from jdeps over the jars, plus jdk.zipfs; native
#                symbols stripped; a DejaVu Sans font with lib/fontconfig.properties, used only when the
#                machine has no fonts of its own, so that loss.png can be drawn). xz-compressed: the
#                image is ~87 MB raw (libjvm.so 25 MB; java.desktop, which loss.png needs, ~19 MB) and
#                ~20 MB as .tar.xz, and everything that travels must stay under 64 MiB. bin/* unpack it on first
#                use (tar + xz, or Python's tarfile when xz is missing) into
#                $FULLSHARD_BUNDLE_JAVA_HOME, else <fullshard cache>/java-<id> (id: java.id, a hash of
#                the archive), outside gpu-bundle/ so that the folder that travels stays as built.
#   lib/         the jars of target/fullshard/lib and of the benchmarks, without the CPU libtorch and
#                OpenBLAS jars (the GPU machine brings PyTorch) and with the Hugging Face tokenizers jar
#                cut down to its linux-x86_64 native library
#   bin/         fullshard, launcher and java: the usual commands, run by the bundled java; gpu-tests
#   test/        when the build has *GpuTest classes: their modules' test classes, the test-scope jars
#                lib/ lacks, the JUnit console launcher, and gpu-tests.txt (the classes to run)
#
# Needs: a JDK 25 with jlink and jdeps (found as bin/fullshard finds Java), Maven, zip/unzip, xz, strip.
# The CPU self-test points FULLSHARD_TORCH_LIB at the bundled CPU libtorch that target/fullshard/bin
# extracts into the fullshard cache (or at FULLSHARD_TORCH_LIB when it is set).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
bundle="$root/gpu-bundle"
build=1 test=1
for a in "$@"; do
  case $a in
    --skip-build) build=0 ;;
    --no-test) test=0 ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-gpu-bundle: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done
say() { echo "build-gpu-bundle: $*"; }
die() { echo "build-gpu-bundle: $*" >&2; exit 1; }
for tool in zip unzip xz tar; do command -v "$tool" >/dev/null || die "needs $tool (apt-get install $tool)"; done

if [ "$build" = 1 ]; then
  say "mvn -q -B -ntp package -DskipTests ${MVN_ARGS:-}"
  # shellcheck disable=SC2086 # MVN_ARGS is a list of options
  (cd "$root" && mvn -q -B -ntp package -DskipTests ${MVN_ARGS:-})
fi
dist="$root/target/fullshard"
bench_jar=$(compgen -G "$root/benchmarks/target/fullshard-benchmarks-*.jar" | grep -v -e '-sources' -e '-javadoc' | sed -n 1p) \
  || die "no benchmarks jar in benchmarks/target: build first (mvn -B -ntp package -DskipTests)"
[ -x "$dist/bin/fullshard" ] && [ -f "$dist/lib/fullshard-java.sh" ] || die "no $dist: build first (mvn -B -ntp package -DskipTests)"

# The JDK: the java bin/fullshard would use, which must come with jlink and jdeps.
# shellcheck source=../trainer/src/main/dist/lib/fullshard-java.sh
source "$dist/lib/fullshard-java.sh"
jdk_java=$(fullshard_find_java) || exit 1
jdk="$(dirname "$(dirname "$(readlink -f "$jdk_java")")")"
[ -x "$jdk/bin/jlink" ] && [ -x "$jdk/bin/jdeps" ] || die "$jdk has no jlink/jdeps (a JRE?); set FULLSHARD_JAVA to a JDK 25's bin/java"
say "JDK $jdk ($("$jdk_java" -version 2>&1 | sed -n 1p))"

rm -rf "$bundle"
mkdir -p "$bundle/bin" "$bundle/lib"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- lib/: the jars, without the CPU natives, with a linux-x86_64-only tokenizers jar ---------------
is_cpu_native() { case $(basename "$1") in pytorch-*-linux-x86_64.jar|openblas-*-linux-x86_64.jar) return 0 ;; *) return 1 ;; esac; }
jars=("$dist"/lib/*.jar "$bench_jar")
if [ -f "$root/benchmarks/target/classpath.txt" ]; then
  IFS=: read -r -a bench_cp < "$root/benchmarks/target/classpath.txt" || true   # one line, no newline
  jars+=("${bench_cp[@]}")                 # JMH and its dependencies, so every benchmark main runs
fi
for j in "${jars[@]}"; do
  [ -f "$j" ] || continue
  is_cpu_native "$j" && continue
  [ -e "$bundle/lib/$(basename "$j")" ] && continue
  cp "$j" "$bundle/lib/"
done
cp "$dist/lib/fullshard-java.sh" "$bundle/lib/"
tok=$(compgen -G "$bundle/lib/tokenizers-*.jar" | sed -n 1p) || die "no tokenizers-*.jar in $dist/lib"
tok_before=$(stat -c %s "$tok")
# DJL looks for native/lib/<os>-<arch>/<flavor>/libtokenizers.so (flavor cpu: fullshard runs DJL offline).
mapfile -t drop < <(unzip -Z1 "$tok" | grep '^native/lib/.' | grep -v -e '^native/lib/linux-x86_64/' -e '^native/lib/tokenizers.properties$')
[ "${#drop[@]}" -gt 0 ] && zip -q -d "$tok" "${drop[@]}"
unzip -Z1 "$tok" | grep -c '^native/lib/linux-x86_64/cpu/libtokenizers.so$' >/dev/null || die "the slim $tok lost linux-x86_64/cpu/libtokenizers.so"
say "$(basename "$tok"): $((tok_before / 1048576)) MiB -> $(($(stat -c %s "$tok") / 1048576)) MiB; native files kept:"
unzip -l "$tok" 'native/*' | sed -n 's/^ *\([0-9][0-9]*\) .* \(native\/.*[^/]\)$/    \2 (\1 bytes)/p'

# --- the Java runtime: modules from jdeps, jlinked, stripped, with a fallback font ------------------
# jdeps refuses modular jars whose required modules are absent (commons-compress needs commons-lang3,
# which fullshard leaves out), so it reads copies without module-info, as plain class-path jars.
mkdir "$work/jdeps"
for j in "$bundle"/lib/*.jar; do
  cp "$j" "$work/jdeps/"
  zip -q -d "$work/jdeps/$(basename "$j")" module-info.class 'META-INF/versions/*/module-info.class' >/dev/null 2>&1 || true
done
modules=$("$jdk/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 25 --class-path "$work/jdeps/*" "$work"/jdeps/*.jar)
# Found at run time only: zipfs (FileSystems.newFileSystem on a jar) and sun.misc.Signal (jdk.unsupported).
for m in jdk.zipfs jdk.unsupported; do [[ ",$modules," == *",$m,"* ]] || modules="$modules,$m"; done
say "jlink modules: $modules"
# zip-0: no compression inside lib/modules, so that xz over the whole image compresses it far better.
# The X11, sound and splash-screen libraries are never loaded by a headless JVM.
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=zip-0 \
  --exclude-files='**/libawt_xawt.so,**/libsplashscreen.so,**/libjsound.so' --output "$work/java"
# jlink copies libjvm.so with its symbol table when the JDK has no jmods (JEP 493); strip saves ~5 MB.
if command -v strip >/dev/null; then find "$work/java/lib" -name '*.so' -exec strip --strip-unneeded {} +; fi
font=$( { fc-match -f '%{file}\n' 'DejaVu Sans' 2>/dev/null || true; find /usr/share/fonts -name DejaVuSans.ttf 2>/dev/null; } | grep 'DejaVuSans\.ttf$' | sed -n 1p || true)
if [ -n "$font" ]; then
  # Java uses the machine's fontconfig when it has fonts; with none it falls back to this file.
  mkdir -p "$work/java/lib/fonts"
  cp "$font" "$work/java/lib/fonts/DejaVuSans.ttf"
  {
    echo "# fallback for machines without fonts (scripts/build-gpu-bundle.sh): every logical font is DejaVu Sans"
    echo "version=1"
    echo "sequence.allfonts=default"
    for f in serif sansserif monospaced dialog dialoginput; do
      for s in plain bold italic bolditalic; do echo "$f.$s.default=DejaVu Sans"; done
    done
    echo "filename.DejaVu_Sans=\$JRE_LIB_FONTS/DejaVuSans.ttf"
  } > "$work/java/lib/fontconfig.properties"
  say "fallback font: $font"
else
  say "warning: no DejaVuSans.ttf on this machine (apt-get install fonts-dejavu-core); a GPU machine without fonts will fail to draw loss.png"
fi
"$work/java/bin/java" --enable-native-access=ALL-UNNAMED -version 2>&1 | sed 's/^/    /'
"$work/java/bin/java" --list-modules | grep -c '^java.base@25' >/dev/null || die "the jlinked runtime is not Java 25"
java_raw=$(du -sb "$work/java" | cut -f1)
say "compressing the runtime ($((java_raw / 1048576)) MiB) with xz -9"
tar -C "$work" -cf - java | xz -9 -T0 > "$bundle/java.tar.xz"
sha256sum "$bundle/java.tar.xz" | cut -c1-16 > "$bundle/java.id"

# --- test/: the GPU unit tests (*GpuTest) with the JUnit console launcher, when the build has any ------
# They skip themselves without a GPU; scripts/gpu-check.sh runs them on one. The test classes of each
# module that holds one, their test-scope jars that lib/ lacks (not byte-buddy: AssertJ needs it only for
# soft assertions and proxies, and it is 4-9 MB), and junit-platform-console-standalone.
mapfile -t gpu_test_files < <(cd "$root" && find . -path ./gpu-bundle -prune -o -path '*/target' -prune -o \
  -path '*/src/test/java/*' -name '*GpuTest.java' -print | sort)
if [ "${#gpu_test_files[@]}" -gt 0 ]; then
  mkdir "$bundle/test"
  modules=()
  for f in "${gpu_test_files[@]}"; do
    m=${f#./}
    m=${m%%/src/test/java/*}
    c=${f#*/src/test/java/}
    echo "${c%.java}" | tr / . >> "$bundle/test/gpu-tests.txt"
    [[ " ${modules[*]} " == *" $m "* ]] || modules+=("$m")
  done
  for m in "${modules[@]}"; do
    [ -d "$root/$m/target/test-classes" ] || die "no $m/target/test-classes: build with tests compiled (mvn package -DskipTests compiles them)"
    (cd "$root/$m/target/test-classes" && zip -q -r -9 "$bundle/test/fullshard-${m//\//-}-tests.jar" .)
  done
  say "GPU tests: $(paste -sd' ' "$bundle/test/gpu-tests.txt") (modules: ${modules[*]})"
  # shellcheck disable=SC2086 # MVN_ARGS is a list of options
  # test-compile (up to date, quick) so that the reactor resolves sibling modules to their target/classes.
  (cd "$root" && mvn -q -B -ntp ${MVN_ARGS:-} -pl "$(IFS=,; echo "${modules[*]}")" -am test-compile dependency:build-classpath \
    -Dmdep.includeScope=test -Dmdep.outputFile=target/gpu-bundle-test-classpath.txt >/dev/null) \
    || die "mvn dependency:build-classpath failed"
  for m in "${modules[@]}"; do
    IFS=: read -r -a test_cp < "$root/$m/target/gpu-bundle-test-classpath.txt" || true
    for j in "${test_cp[@]}"; do
      b=$(basename "$j")
      [[ -f "$j" && $b == *.jar ]] || continue     # a sibling module's target/classes
      is_cpu_native "$j" && continue
      case $b in junit-*|opentest4j-*|apiguardian-*|byte-buddy-*) continue ;; esac  # in the standalone jar / not needed
      [ -e "$bundle/lib/$b" ] || [ -e "$bundle/test/$b" ] || cp "$j" "$bundle/test/"
    done
  done
  junit_version=$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' "$root/pom.xml" | sed -n 1p)
  [ -n "$junit_version" ] || die "no <junit.version> in pom.xml"
  # shellcheck disable=SC2086 # MVN_ARGS is a list of options
  (cd "$root" && mvn -q -B -ntp ${MVN_ARGS:-} -N dependency:copy \
    -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit_version" -DoutputDirectory="$bundle/test" >/dev/null) \
    || die "could not get junit-platform-console-standalone $junit_version"
fi

# --- bin/: the commands, each running the bundled java ---------------------------------------------
cat > "$bundle/lib/bundle-java.sh" <<'EOF'
# Sourced by gpu-bundle/bin/*: unpacks the bundled Java runtime (../java.tar.xz) on first use and exports
# FULLSHARD_JAVA. It goes to $FULLSHARD_BUNDLE_JAVA_HOME, else to <fullshard cache>/java-<id of the
# archive> ($FULLSHARD_CACHE_DIR, else $XDG_CACHE_HOME/fullshard or ~/.cache/fullshard). Concurrent first
# uses unpack into their own temporary folders; the first rename wins.
fullshard_bundle_java() {
  local bundle id home java tmp
  bundle="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  id=$(cat "$bundle/java.id" 2>/dev/null) || { echo "gpu-bundle: no $bundle/java.id; rebuild with scripts/build-gpu-bundle.sh" >&2; return 1; }
  home="${FULLSHARD_BUNDLE_JAVA_HOME:-${FULLSHARD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fullshard}/java-$id}"
  java="$home/bin/java"
  if [ ! -x "$java" ]; then
    mkdir -p "$(dirname "$home")" && tmp=$(mktemp -d "$(dirname "$home")/.java-unpack.XXXXXX") || {
      echo "gpu-bundle: cannot make a folder next to $home (set FULLSHARD_BUNDLE_JAVA_HOME)" >&2; return 1; }
    if command -v xz >/dev/null 2>&1; then
      tar -C "$tmp" -xJf "$bundle/java.tar.xz"
    else
      python3 -c 'import sys, tarfile
kw = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}
tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2], **kw)' "$bundle/java.tar.xz" "$tmp"
    fi || { rm -rf "$tmp"; echo "gpu-bundle: could not unpack $bundle/java.tar.xz (needs xz, or python3 with lzma)" >&2; return 1; }
    mv -T "$tmp/java" "$home" 2>/dev/null || true
    rm -rf "$tmp"
    [ -x "$java" ] || { echo "gpu-bundle: unpacking left no $java" >&2; return 1; }
  fi
  export FULLSHARD_JAVA="$java"
}
EOF
write_command() { # name, main class
  cat > "$bundle/bin/$1" <<EOF
#!/usr/bin/env bash
# $1, run by the bundled Java runtime (gpu-bundle, made by scripts/build-gpu-bundle.sh).
set -euo pipefail
lib="\$(cd "\$(dirname "\$(readlink -f "\${BASH_SOURCE[0]}")")/../lib" && pwd)"
. "\$lib/bundle-java.sh"
fullshard_bundle_java
. "\$lib/fullshard-java.sh"
fullshard_exec $2 "\$@"
EOF
  chmod 755 "$bundle/bin/$1"
}
write_command fullshard dev.fullshard.cli.FullshardCommand
write_command launcher dev.fullshard.launcher.LauncherCommand
cat > "$bundle/bin/java" <<'EOF'
#!/usr/bin/env bash
# The bundled java itself (unpacked on first use), e.g.
#   gpu-bundle/bin/java --enable-native-access=ALL-UNNAMED -cp 'gpu-bundle/lib/*' dev.fullshard.benchmarks.CublasGemm 8192 8192 8192 bf16 20
set -euo pipefail
. "$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib" && pwd)/bundle-java.sh"
fullshard_bundle_java
exec "$FULLSHARD_JAVA" "$@"
EOF
chmod 755 "$bundle/bin/java"

if [ -d "$bundle/test" ]; then
  cat > "$bundle/bin/gpu-tests" <<'EOF'
#!/usr/bin/env bash
# The GPU unit tests of ../test/gpu-tests.txt (or the test classes given) on the bundled java, through the
# JUnit console launcher; exit status 0 when none failed (skipped ones included). Extra JVM options:
# FULLSHARD_JAVA_OPTS.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
. "$root/lib/bundle-java.sh"
fullshard_bundle_java
classes=("$@")
[ "${#classes[@]}" -gt 0 ] || mapfile -t classes < "$root/test/gpu-tests.txt"
select=()
for c in "${classes[@]}"; do select+=(--select-class "$c"); done
# shellcheck disable=SC2086 # FULLSHARD_JAVA_OPTS is a list of options
exec "$FULLSHARD_JAVA" --enable-native-access=ALL-UNNAMED -Xmx4g ${FULLSHARD_JAVA_OPTS:-} -cp "$root/test/*:$root/lib/*" \
  org.junit.platform.console.ConsoleLauncher execute --disable-banner --disable-ansi-colors --details=tree "${select[@]}"
EOF
  chmod 755 "$bundle/bin/gpu-tests"
fi

# --- the CPU self-test -----------------------------------------------------------------------------
if [ "$test" = 1 ]; then
  say "self-test: bin/java (unpacks the runtime into the scratch folder)"
  export FULLSHARD_BUNDLE_JAVA_HOME="$work/java-unpacked"
  "$bundle/bin/java" -version 2>&1 | sed 's/^/    /'
  torch_lib=${FULLSHARD_TORCH_LIB:-}
  if [ -z "$torch_lib" ]; then
    cache=${FULLSHARD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fullshard}
    torch_lib=$(compgen -G "$cache/natives/pytorch-*-linux-x86_64" | sed -n 1p || true)
    if [ -z "$torch_lib" ]; then
      say "self-test: extracting the bundled CPU libtorch (target/fullshard/bin/fullshard doctor)"
      "$dist/bin/fullshard" doctor >/dev/null || true
      torch_lib=$(compgen -G "$cache/natives/pytorch-*-linux-x86_64" | sed -n 1p || true)
    fi
    [ -n "$torch_lib" ] || die "self-test: no CPU libtorch in $cache/natives; set FULLSHARD_TORCH_LIB"
  fi
  export FULLSHARD_TORCH_LIB="$torch_lib"
  say "self-test: FULLSHARD_TORCH_LIB=$torch_lib; fullshard doctor (FFM downcalls into libtorch)"
  "$bundle/bin/fullshard" doctor 2>&1 | sed 's/^/    /'
  t="$work/selftest"
  mkdir -p "$t"
  "$bundle/bin/fullshard" init-model --preset tiny --seed 0 --out "$t/model" | sed 's/^/    /'
  cat > "$t/train.yaml" <<YAML
model: {path: $t/model}
mixed_precision: bf16
data: {train_files: [$root/examples/tiny/data/train.jsonl], eval_files: [$root/examples/tiny/data/eval.jsonl], format: instruction, max_seq_len: 128}
training: {max_steps: 3, micro_batch_size: 4}
logging: {output_dir: $t/out, logging_steps: 1}
YAML
  say "self-test: launcher --standalone --nproc 1 (tokenizes with the slim jar, trains 3 steps, draws loss.png)"
  # The token cache lives in FULLSHARD_CACHE_DIR: a fresh one makes this run tokenize for real.
  FULLSHARD_CACHE_DIR="$t/cache" "$bundle/bin/launcher" --standalone --nproc 1 --log-dir "$t/logs" "$t/train.yaml" 2>&1 | sed 's/^/    /'
  steps=$(grep -c '"type":"train"' "$t/out/metrics.jsonl" || true)
  [ "$steps" = 3 ] || die "self-test: expected 3 train lines in metrics.jsonl, found $steps"
  [ -s "$t/out/loss.png" ] || die "self-test: no loss.png"
  [ -f "$t/out/final/model.safetensors" ] || die "self-test: no final/ export"
  say "self-test: ok (3 steps logged, loss.png drawn, final/ exported)"
  if [ -x "$bundle/bin/gpu-tests" ]; then
    # Without a GPU they skip; this checks that the runner, the test classes and their jars load.
    say "self-test: bin/gpu-tests (they skip without a GPU)"
    "$bundle/bin/gpu-tests" 2>&1 | tail -n 15 | sed 's/^/    /'
  fi
fi

# --- sizes -------------------------------------------------------------------------------------------
mib() { awk -v b="$1" 'BEGIN { printf "%6.1f MiB", b / 1048576 }'; }
say "bundle:"
echo "    $(mib "$(stat -c %s "$bundle/java.tar.xz")")  java.tar.xz (Java runtime; $(mib "$java_raw") unpacked)"
for j in "$bundle"/lib/*; do echo "$(stat -c %s "$j") $(basename "$j")"; done | sort -rn | sed -n 1,6p |
  while read -r size name; do echo "    $(mib "$size")  lib/$name"; done
lib_total=$(du -cb "$bundle"/lib/* | tail -n 1 | cut -f1)
echo "    $(mib "$lib_total")  lib/ ($(find "$bundle/lib" -type f | wc -l) files)"
if [ -d "$bundle/test" ]; then
  echo "    $(mib "$(du -sb "$bundle/test" | cut -f1)")  test/ (GPU unit tests and their runner)"
fi
bundle_total=$(du -sb "$bundle" | cut -f1)
# What travels: tracked files plus untracked files git does not ignore, plus the bundle.
tree_total=$(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
total=$((bundle_total + tree_total))
echo "    $(mib "$bundle_total")  gpu-bundle/ in all"
echo "    $(mib "$tree_total")  the working tree (tracked and untracked, not ignored)"
echo "    $(mib "$total")  travels (limit 64 MiB, aim <= 55 MiB)"
[ "$total" -le $((64 * 1048576)) ] || die "over 64 MiB: it will not travel"
[ "$total" -le $((55 * 1048576)) ] || say "warning: over 55 MiB"
say "done: $bundle (run on the GPU machine: bash scripts/gpu-check.sh)"
