package dev.fullshard.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A file written under a temporary name next to its target ({@code NAME.tmp-RANDOM}) and renamed
 * onto the target only by {@link #commit()}, after its bytes are on disk. Readers therefore see the
 * old file or the complete new one, never a partial one; {@link #close()} without a commit deletes
 * the temporary file.
 */
public final class AtomicFile implements AutoCloseable {
    private final Path target;
    private final Path temporary;
    private final FileChannel channel;
    private boolean committed;

    private AtomicFile(Path target, Path temporary, FileChannel channel) {
        this.target = target;
        this.temporary = temporary;
        this.channel = channel;
    }

    static AtomicFile create(Path target) throws IOException {
        Path temporary = target.resolveSibling(target.getFileName() + ".tmp-" + randomSuffix());
        return new AtomicFile(target, temporary, FileChannel.open(temporary, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
    }

    static String randomSuffix() {
        return HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
    }

    /** Writes {@code bytes} to {@code target} atomically. */
    public static void write(Path target, byte[] bytes) throws IOException {
        try (AtomicFile file = create(target)) {
            file.write(ByteBuffer.wrap(bytes));
            file.commit();
        }
    }

    FileChannel channel() {
        return channel;
    }

    void write(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) channel.write(buffer);
    }

    /** Flushes to disk, then renames onto the target (replacing it). */
    void commit() throws IOException {
        channel.force(true);
        channel.close();
        Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
        committed = true;
        syncDirectory(target.toAbsolutePath().getParent());
    }

    /**
     * Makes a rename in {@code dir} durable. Best effort: Linux allows fsync on a directory, other
     * systems may not, and the rename has already happened either way.
     */
    public static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // Not durable across a power cut on this system, but still atomic for readers.
        }
    }

    @Override
    public void close() throws IOException {
        if (committed) return;
        try {
            channel.close();
        } finally {
            Files.deleteIfExists(temporary);
        }
    }
}
