package dev.fullshard.bindings;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Makes libtorch's error text available to Java.
 *
 * <p>libtorch 2.10 turns a C++ exception into return code 1 and writes the message only to the
 * process's stderr (LOG(ERROR)); there is no C function to read it. So, before libtorch loads,
 * file descriptor 2 is pointed at a temporary file. After a failed call, {@link #lastError()} reads
 * what was written since the previous failure. A daemon thread copies that file to the original
 * stderr every 100 ms (and at exit), leaving out only libtorch's exception reports (the message and
 * its C++ backtrace), which reach the user inside the Java exception instead. Java's
 * {@code System.err} is pointed straight at the original stderr, so nothing else is hidden.
 *
 * <p>Set {@code FULLSHARD_CAPTURE_STDERR=0} to leave stderr alone (errors then carry no libtorch text).
 */
public final class NativeStderr {
    private static final int MAX_MESSAGE = 4000;
    /**
     * A long run that keeps logging (warnings, caught errors) must not fill the disk: past this size
     * (system property {@code fullshard.stderr.rotate.bytes}, default 64 MiB) the capture file is replaced.
     */
    private static final long ROTATE_BYTES = Long.getLong("fullshard.stderr.rotate.bytes", 64L << 20);
    private static boolean installed;
    private static Path file;
    private static FileChannel capture;
    private static OutputStream original;
    private static long forwarded;
    private static long attributed;
    /** Text of a rotated-away file that no failure has claimed yet: a report written just before the rotation. */
    private static String carried = "";
    private static boolean inExceptionReport;

    private NativeStderr() {
    }

    static synchronized void install() {
        if (installed || "0".equals(TorchLibrary.setting("FULLSHARD_CAPTURE_STDERR", "fullshard.capture.stderr"))) return;
        int originalFd = LibC.dup(2);
        if (originalFd < 0) return;
        try {
            if (!redirectToNewFile()) {
                LibC.close(originalFd);
                return;
            }
            original = new FileOutputStream("/proc/self/fd/" + originalFd, true);
            System.setErr(new PrintStream(original, true, StandardCharsets.UTF_8));
            installed = true;
        } catch (IOException e) {
            return;
        }
        Thread forwarder = Thread.ofPlatform().daemon().name("fullshard-stderr").start(() -> {
            while (true) {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
                forward(false);
            }
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            forwarder.interrupt();
            forward(true);
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // a leftover temp file is harmless
            }
        }));
    }

    /** Points fd 2 at a fresh temporary file and opens it for reading; false if that was not possible. */
    private static boolean redirectToNewFile() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            String template = Path.of(System.getProperty("java.io.tmpdir"), "fullshard-stderr-" + ProcessHandle.current().pid() + "-XXXXXX").toString();
            MemorySegment path = arena.allocateFrom(template);
            int fd = LibC.mkstemp(path);
            if (fd < 0) return false;
            boolean redirected = LibC.dup2(fd, 2) >= 0;
            LibC.close(fd);
            if (!redirected) return false;
            file = Path.of(path.getString(0));
            capture = FileChannel.open(file, StandardOpenOption.READ);
            forwarded = 0;
            attributed = 0;
            inExceptionReport = false;
            return true;
        }
    }

    /**
     * libtorch's message for the most recent failure: the text written to stderr since the previous
     * failure, trimmed to the exception's own message when it can be found. Empty when not captured.
     */
    public static synchronized String lastError() {
        if (!installed) return "";
        try {
            long end = capture.size();
            String text = carried + read(attributed, end);
            carried = "";
            attributed = end;
            int start = text.lastIndexOf("Exception in aoti_torch:");
            if (start >= 0) {
                text = text.substring(start + "Exception in aoti_torch:".length());
                int backtrace = text.indexOf("Exception raised from");
                if (backtrace >= 0) text = text.substring(0, backtrace);
            }
            text = text.strip();
            return text.length() > MAX_MESSAGE ? text.substring(0, MAX_MESSAGE) + " ..." : text;
        } catch (IOException e) {
            return "(could not read libtorch's stderr: " + e.getMessage() + ")";
        }
    }

    /** Copies whole new lines (and, at exit, the rest) to the original stderr, minus exception reports. */
    private static synchronized void forward(boolean all) {
        try {
            long end = Math.min(capture.size(), forwarded + (1 << 20));
            if (end <= forwarded) return;
            String text = read(forwarded, end);
            int cut = all ? text.length() : text.lastIndexOf('\n') + 1;
            if (cut == 0) return;
            StringBuilder shown = new StringBuilder();
            for (String line : text.substring(0, cut).split("(?<=\n)")) {
                if (line.contains("Exception in aoti_torch:")) inExceptionReport = true;
                else if (inExceptionReport && !line.startsWith("Exception raised from") && !line.startsWith("frame #")) {
                    inExceptionReport = false;
                }
                if (!inExceptionReport) shown.append(line);
            }
            forwarded += text.substring(0, cut).getBytes(StandardCharsets.UTF_8).length;
            if (!shown.isEmpty()) {
                original.write(shown.toString().getBytes(StandardCharsets.UTF_8));
                original.flush();
            }
            if (forwarded == capture.size() && forwarded > ROTATE_BYTES) rotate();
        } catch (IOException ignored) {
            // the original stderr is gone (closed pipe): nothing left to show the text to
        }
    }

    /**
     * Starts a new capture file once everything in the old one has been shown, and deletes the old one.
     * What no failure has claimed yet is kept: the forwarder may rotate between a failing call writing its
     * report and that call's {@link #lastError()}.
     */
    private static void rotate() throws IOException {
        Path old = file;
        FileChannel oldCapture = capture;
        String unclaimed = read(attributed, capture.size());
        if (redirectToNewFile()) {
            String all = carried + unclaimed;
            carried = all.length() > MAX_MESSAGE * 4 ? all.substring(all.length() - MAX_MESSAGE * 4) : all;
            oldCapture.close();
            Files.deleteIfExists(old);
        }
    }

    private static String read(long from, long to) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(to - from, 1 << 20));
        long start = Math.max(from, to - buffer.capacity());
        while (buffer.hasRemaining() && capture.read(buffer, start + buffer.position()) > 0) {
            // keep reading until the range is in
        }
        return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
    }
}
