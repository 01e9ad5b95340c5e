package dev.fullshard.tensor;

import dev.fullshard.bindings.TorchStable;

/** Codes of ATen's MemoryFormat enum, read from libtorch when first needed. */
final class MemoryFormats {
    static final long CONTIGUOUS = TorchStable.aoti_torch_memory_format_contiguous_format();

    private MemoryFormats() {
    }
}
