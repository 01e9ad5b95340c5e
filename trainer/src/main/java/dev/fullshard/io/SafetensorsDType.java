package dev.fullshard.io;

import dev.fullshard.tensor.DType;

import java.nio.file.Path;
import java.util.Map;

/** The safetensors dtype names ("BF16", "F32", ...) fullshard reads and writes, and their {@link DType}s. */
final class SafetensorsDType {
    private static final Map<String, DType> BY_NAME = Map.of(
            "F64", DType.F64, "F32", DType.F32, "F16", DType.F16, "BF16", DType.BF16,
            "I64", DType.I64, "I32", DType.I32, "I8", DType.I8, "U8", DType.U8, "BOOL", DType.BOOL);

    static final String ALLOWED = "F32, F16, BF16, F64, I64, I32, I8, U8, BOOL";

    private SafetensorsDType() {
    }

    static DType parse(Path file, String tensor, String name) throws CheckpointFormatException {
        DType dtype = BY_NAME.get(name);
        if (dtype == null) {
            throw new CheckpointFormatException(file, "tensor '" + tensor + "' has dtype '" + name + "'; expected one of " + ALLOWED);
        }
        return dtype;
    }

    static String nameOf(DType dtype) {
        return switch (dtype) {
            case F64 -> "F64";
            case F32 -> "F32";
            case F16 -> "F16";
            case BF16 -> "BF16";
            case I64 -> "I64";
            case I32 -> "I32";
            case I8 -> "I8";
            case U8 -> "U8";
            case BOOL -> "BOOL";
        };
    }
}
