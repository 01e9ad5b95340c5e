package dev.fullshard.io;

import dev.fullshard.tensor.DType;

import java.util.Arrays;

/**
 * One tensor listed in a safetensors header.
 *
 * @param name  the tensor's name, e.g. "model.layers.0.mlp.up_proj.weight"
 * @param dtype its element type
 * @param shape its sizes, row-major and contiguous in the file
 * @param begin first byte, counted from the start of the data section (after the header)
 * @param end   one past the last byte, counted the same way
 */
public record SafetensorsEntry(String name, DType dtype, long[] shape, long begin, long end) {
    public SafetensorsEntry {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long byteSize() {
        return end - begin;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SafetensorsEntry e && name.equals(e.name) && dtype == e.dtype && Arrays.equals(shape, e.shape)
                && begin == e.begin && end == e.end;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + Arrays.toString(shape) + " " + dtype + " bytes [" + begin + ", " + end + ")";
    }
}
