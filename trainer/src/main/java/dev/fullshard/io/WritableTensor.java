package dev.fullshard.io;

import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Tensor;

import java.util.Arrays;

/**
 * A tensor to be written: its name, dtype and shape are needed up front (they make the header), its
 * values only when the writer reaches it. That lets a sharded model produce each full tensor (for
 * example by gathering it) just before it is written and free it right after.
 *
 * @param name   the name in the file
 * @param dtype  the element type {@code source} will produce
 * @param shape  the shape {@code source} will produce
 * @param source produces the values when the writer needs them
 */
public record WritableTensor(String name, DType dtype, long[] shape, Source source) {
    /** Produces a tensor with the declared dtype and shape, on any device, in any layout. */
    @FunctionalInterface
    public interface Source {
        /** Returns a tensor the caller owns: the writer closes it once its bytes are written. */
        Tensor open();
    }

    public WritableTensor {
        if (name.equals(SafetensorsHeader.METADATA_KEY)) throw new IllegalArgumentException("a tensor cannot be named " + name);
        shape = shape.clone();
        for (long s : shape) {
            if (s < 0) throw new IllegalArgumentException("tensor '" + name + "' has a negative size in " + Arrays.toString(shape));
        }
    }

    /**
     * Writes {@code tensor} as it is when the writer reaches it. The writer closes a new handle to
     * it (from {@link Tensor#contiguous()}), never {@code tensor} itself.
     */
    public static WritableTensor of(String name, Tensor tensor) {
        return new WritableTensor(name, tensor.dtype(), tensor.shape(), tensor::contiguous);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long byteSize() {
        long n = dtype.byteSize();
        for (long s : shape) n = Math.multiplyExact(n, s);
        return n;
    }
}
