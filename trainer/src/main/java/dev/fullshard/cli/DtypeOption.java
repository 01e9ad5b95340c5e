package dev.fullshard.cli;

import dev.fullshard.tensor.DType;
import dev.fullshard.train.TrainConfig.Precision;

import java.util.List;
import java.util.Locale;

/** A {@code --dtype} value, in any spelling train.yaml accepts (fp32 or f32 or float32, bf16 or bfloat16, fp16 or f16 or float16). */
final class DtypeOption {
    private DtypeOption() {
    }

    /** The dtype named by {@code text}, which must be one of {@code allowed}; otherwise an error listing them. */
    static DType parse(String text, List<DType> allowed) {
        Precision p = Precision.parse(text);
        if (p == null || !allowed.contains(p.dtype())) {
            throw new IllegalArgumentException("--dtype " + text + ": expected one of "
                    + allowed.stream().map(d -> Precision.of(d).name().toLowerCase(Locale.ROOT)).toList());
        }
        return p.dtype();
    }
}
