package dev.fullshard.bindings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class CpuFlagsTest {
    @TempDir
    Path tmp;

    @Test
    void theFlagsAreTheFirstFlagsLinesWords() throws Exception {
        Path cpuinfo = Files.writeString(tmp.resolve("cpuinfo"), """
                processor\t: 0
                model name\t: AMD EPYC
                flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile
                processor\t: 1
                flags\t\t: fpu
                """);
        assertThat(CpuFlags.read(cpuinfo)).containsExactlyInAnyOrder("fpu", "sse2", "avx2", "avx512f", "avx512_bf16", "amx_tile");
        assertThat(CpuFlags.read(tmp.resolve("missing"))).isEmpty();
    }
}
