package dev.fullshard.cli;

import dev.fullshard.tensor.DType;

import java.util.List;
import java.util.Locale;

/** A {@code --dtype} value as users write it (f32, fp32, float32, bf16, bfloat16, f16, fp16, float16). */
final class DtypeOption {
    private DtypeOption() {
    }

    /** The dtype named by {@code text}, which must be one of {@code allowed}; otherwise an error listing them. */
    static DType parse(String text, List<DType> allowed) {
        DType d = switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "f32", "fp32", "float32" -> DType.F32;
            case "bf16", "bfloat16" -> DType.BF16;
            case "f16", "fp16", "float16" -> DType.F16;
            default -> null;
        };
        if (d == null || !allowed.contains(d)) {
            throw new IllegalArgumentException("--dtype " + text + ": expected one of "
                    + allowed.stream().map(a -> a == DType.F32 ? "f32" : a == DType.BF16 ? "bf16" : "f16").toList());
        }
        return d;
    }
}
