package dev.fullshard.bindings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;

/** What this machine's CPU can do, from the kernel's {@code /proc/cpuinfo} flags (empty elsewhere). */
public final class CpuFlags {
    private static final Set<String> FLAGS = read(Path.of("/proc/cpuinfo"));

    private CpuFlags() {
    }

    /** Whether the CPU has bfloat16 arithmetic (AVX-512 BF16 or AMX), rather than emulating it in float32. */
    public static boolean nativeBf16() {
        return FLAGS.contains("avx512_bf16") || FLAGS.contains("amx_bf16");
    }

    static Set<String> read(Path cpuinfo) {
        try (var lines = Files.lines(cpuinfo)) {
            return lines.filter(l -> l.startsWith("flags")).findFirst()
                    .map(l -> Set.copyOf(Arrays.asList(l.substring(l.indexOf(':') + 1).strip().split("\\s+")))).orElse(Set.of());
        } catch (IOException | RuntimeException e) {
            return Set.of();
        }
    }
}
