package dev.fullshard.cli;

import dev.fullshard.tensor.DType;
import picocli.CommandLine.Option;

import java.util.List;

/** The {@code --dtype} a command computes in ({@code eval}, {@code generate}, {@code answer}): f32 or bf16. */
final class ComputeDtypeOption {
    @Option(names = "--dtype", defaultValue = "fp32", description = "Compute dtype: fp32 or bf16 (default: ${DEFAULT-VALUE}).")
    String dtype;

    DType value() {
        return DtypeOption.parse(dtype, List.of(DType.F32, DType.BF16));
    }
}
