package dev.fullshard.cli;

import dev.fullshard.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DtypeOptionTest {
    private static final List<DType> FLOATS = List.of(DType.F32, DType.BF16, DType.F16);

    @Test
    void acceptsEverySpellingTrainYamlAccepts() {
        for (String s : List.of("fp32", "f32", "float32", "FP32")) assertThat(DtypeOption.parse(s, FLOATS)).isEqualTo(DType.F32);
        for (String s : List.of("bf16", "bfloat16")) assertThat(DtypeOption.parse(s, FLOATS)).isEqualTo(DType.BF16);
        for (String s : List.of("fp16", "f16", "float16")) assertThat(DtypeOption.parse(s, FLOATS)).isEqualTo(DType.F16);
    }

    @Test
    void refusesOtherDtypesListingTheAllowedOnesInTheWrittenSpelling() {
        assertThatThrownBy(() -> DtypeOption.parse("f16", List.of(DType.F32, DType.BF16)))
                .hasMessage("--dtype f16: expected one of [fp32, bf16]");
        assertThatThrownBy(() -> DtypeOption.parse("int8", FLOATS))
                .hasMessage("--dtype int8: expected one of [fp32, bf16, fp16]");
    }
}
