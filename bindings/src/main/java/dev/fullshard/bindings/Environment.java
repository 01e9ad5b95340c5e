package dev.fullshard.bindings;

import java.lang.foreign.Arena;

/** Sets process environment variables natively, where libraries loaded later will read them. */
final class Environment {
    private Environment() {
    }

    static void set(String name, String value) {
        try (Arena arena = Arena.ofConfined()) {
            if (LibC.setenv(arena.allocateFrom(name), arena.allocateFrom(value), 1) != 0) {
                throw new IllegalStateException("setenv(" + name + ") failed");
            }
        }
    }
}
