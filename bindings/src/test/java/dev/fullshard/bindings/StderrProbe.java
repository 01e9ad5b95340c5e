package dev.fullshard.bindings;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Run in a fresh JVM by {@link NativeStderrTest}: makes libtorch fail many times, writes to the native
 * stderr and to System.err, and prints {@code key=value} results on stdout.
 */
public final class StderrProbe {
    private StderrProbe() {
    }

    public static void main(String[] args) throws Exception {
        TorchLibrary.load();
        int attributed = 0;
        int failures = Integer.parseInt(args[0]);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment stack = arena.allocate(JAVA_LONG, 4);
            for (int i = 0; i < failures; i++) {
                String op = "aten::no_such_op_" + i;
                int rc = TorchStable.torch_call_dispatcher(arena.allocateFrom(op), arena.allocateFrom(""), stack, (2L << 56) | (10L << 48));
                if (rc != 0 && NativeStderr.lastError().contains(op)) attributed++;
                if (i % 10 == 9) {
                    // Something native code writes to fd 2 that is not an exception report.
                    Files.writeString(Path.of("/proc/self/fd/2"), "native-line-" + i + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
                    System.err.println("java-line-" + i);
                    Thread.sleep(250);
                }
            }
        }
        System.out.println("attributed=" + attributed);
        try (Stream<Path> files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            List<Path> capture = files.filter(p -> p.getFileName().toString().startsWith("fullshard-stderr-")).toList();
            System.out.println("captureFiles=" + capture.size());
            for (Path p : capture) System.out.println("captureBytes=" + Files.size(p));
        }
        System.out.flush();
    }
}
