package dev.fullshard.launcher;

import java.io.PrintStream;

/**
 * The launcher's own console lines, behind a prefix that sets them apart from the ranks' output. One line at a
 * time: the threads that copy rank output write to the same console.
 */
record LauncherLog(PrintStream console, String prefix) {
    void say(String line) {
        synchronized (console) { console.println(prefix + line); }
    }
}
