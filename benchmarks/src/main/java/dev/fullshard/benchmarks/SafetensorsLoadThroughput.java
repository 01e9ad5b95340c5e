package dev.fullshard.benchmarks;

import dev.fullshard.bindings.TorchLibrary;
import dev.fullshard.io.SafetensorsFile;
import dev.fullshard.io.SafetensorsWriter;
import dev.fullshard.io.WritableTensor;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Safetensors load throughput against a plain read of the same bytes: writes a checkpoint of
 * {@code GIB} GiB of bfloat16 tensors, then, several times each, (a) opens it and copies every tensor
 * into an owned libtorch tensor, (b) reads the whole file with {@code FileChannel.read} into native
 * memory. The file stays in the page cache between runs, so both measure memory bandwidth and the
 * work on top of it, not the disk. Prints the best and median GB/s of each.
 *
 * <pre>java ... SafetensorsLoadThroughput DIR GIB RUNS</pre>
 */
public final class SafetensorsLoadThroughput {
    private static final long TENSOR_BYTES = 128L << 20;

    private SafetensorsLoadThroughput() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        double gib = Double.parseDouble(args[1]);
        int runs = Integer.parseInt(args[2]);
        TorchLibrary.load();
        Files.createDirectories(dir);
        Path file = dir.resolve("load-benchmark.safetensors");
        int count = (int) Math.max(1, Math.round(gib * (1L << 30) / TENSOR_BYTES));
        List<WritableTensor> tensors = new ArrayList<>();
        long elements = TENSOR_BYTES / 2;
        for (int i = 0; i < count; i++) {
            double value = i + 0.5;
            tensors.add(new WritableTensor("t" + i, DType.BF16, new long[] {elements},
                    () -> Tensor.full(value, DType.BF16, Device.CPU, elements)));
        }
        SafetensorsWriter.write(file, tensors);
        long bytes = Files.size(file);
        try {
            double[] load = new double[runs], plain = new double[runs];
            for (int r = 0; r < runs; r++) {
                load[r] = time(() -> {
                    try (SafetensorsFile f = SafetensorsFile.open(file)) {
                        for (int i = 0; i < count; i++) f.copy("t" + i, DType.BF16).close();
                    }
                });
                plain[r] = time(() -> {
                    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
                        MemorySegment buffer = arena.allocate(bytes, 64);
                        long position = 0;
                        while (position < bytes) position += ch.read(buffer.asSlice(position).asByteBuffer(), position);
                    }
                });
            }
            report("safetensors open + copy into tensors", bytes, load);
            report("plain FileChannel.read of the file", bytes, plain);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private interface Work {
        void run() throws IOException;
    }

    private static double time(Work work) throws IOException {
        long start = System.nanoTime();
        work.run();
        return (System.nanoTime() - start) / 1e9;
    }

    private static void report(String what, long bytes, double[] seconds) {
        double[] sorted = seconds.clone();
        java.util.Arrays.sort(sorted);
        System.out.printf(Locale.ROOT, "%-38s %.2f GiB: best %.2f GB/s, median %.2f GB/s (%d runs, page cache warm)%n", what,
                bytes / (double) (1L << 30), bytes / sorted[0] / 1e9, bytes / sorted[sorted.length / 2] / 1e9, sorted.length);
    }
}
