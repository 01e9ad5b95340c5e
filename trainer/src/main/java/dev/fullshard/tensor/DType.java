package dev.fullshard.tensor;

import dev.fullshard.bindings.TorchStable;

/** Element types fullshard uses, with libtorch's codes read from the library (they are not ABI constants). */
public enum DType {
    F32("float32", 4, true),
    F64("float64", 8, true),
    BF16("bfloat16", 2, true),
    F16("float16", 2, true),
    I64("int64", 8, false),
    I32("int32", 4, false),
    BOOL("bool", 1, false),
    U8("uint8", 1, false),
    I8("int8", 1, false);

    private final String torchName;
    private final int byteSize;
    private final boolean floatingPoint;

    DType(String torchName, int byteSize, boolean floatingPoint) {
        this.torchName = torchName;
        this.byteSize = byteSize;
        this.floatingPoint = floatingPoint;
    }

    /** PyTorch's name, e.g. "bfloat16". */
    public String torchName() {
        return torchName;
    }

    public int byteSize() {
        return byteSize;
    }

    public boolean isFloatingPoint() {
        return floatingPoint;
    }

    /** libtorch's ScalarType code. */
    public int code() {
        return Codes.CODES[ordinal()];
    }

    public static DType fromCode(int code) {
        int[] codes = Codes.CODES;
        for (int i = 0; i < codes.length; i++) if (codes[i] == code) return values()[i];
        throw new IllegalArgumentException("libtorch dtype code " + code + " is not one fullshard supports "
                + "(float32, float64, bfloat16, float16, int64, int32, bool, uint8, int8)");
    }

    @Override
    public String toString() {
        return torchName;
    }

    /** Read once, the first time a code is needed (which loads libtorch). */
    private static final class Codes {
        static final int[] CODES = {
                TorchStable.aoti_torch_dtype_float32(), TorchStable.aoti_torch_dtype_float64(),
                TorchStable.aoti_torch_dtype_bfloat16(), TorchStable.aoti_torch_dtype_float16(),
                TorchStable.aoti_torch_dtype_int64(), TorchStable.aoti_torch_dtype_int32(),
                TorchStable.aoti_torch_dtype_bool(), TorchStable.aoti_torch_dtype_uint8(),
                TorchStable.aoti_torch_dtype_int8()};
    }
}
