package dev.fullshard.bindings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds PyTorch installations on disk without running Python: the {@code torch} package folders of
 * the active virtualenv or conda environment, of each Python on PATH, of PYTHONPATH, of the user's
 * site-packages and of the system's. The first one at version 2.10 or newer wins.
 */
final class PyTorchInstalls {
    private static final Pattern VERSION = Pattern.compile("__version__\\s*=\\s*['\"]([^'\"]+)['\"]");

    record Install(Path torchPackage, String version) {
        Path lib() {
            return torchPackage.resolve("lib");
        }
    }

    private PyTorchInstalls() {
    }

    /** Installs found, in search order, each with its version; unusable ones are described in {@code notes}. */
    static Optional<Install> findUsable(List<String> notes) {
        for (Path torch : candidates()) {
            Optional<String> version = version(torch);
            if (version.isEmpty()) {
                notes.add("skipped " + torch + ": no torch/version.py");
            } else if (!atLeast(version.get(), 2, 10)) {
                notes.add("skipped " + torch + ": PyTorch " + version.get() + " is older than 2.10 (no stable C ABI dispatcher)");
            } else if (!Files.isRegularFile(torch.resolve("lib/libtorch_cpu.so"))) {
                notes.add("skipped " + torch + ": no lib/libtorch_cpu.so");
            } else {
                return Optional.of(new Install(torch, version.get()));
            }
        }
        return Optional.empty();
    }

    private static List<Path> candidates() {
        Set<Path> sitePackages = new LinkedHashSet<>();
        for (String var : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            String prefix = System.getenv(var);
            if (prefix != null) sitePackages.addAll(pythonLibDirs(Path.of(prefix)));
        }
        String pythonPath = System.getenv("PYTHONPATH");
        if (pythonPath != null) {
            for (String entry : pythonPath.split(":")) if (!entry.isBlank()) sitePackages.add(Path.of(entry));
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(":")) {
                if (dir.isBlank()) continue;
                Path bin = Path.of(dir);
                if (Files.isExecutable(bin.resolve("python3")) || Files.isExecutable(bin.resolve("python"))) {
                    Path prefix = bin.toAbsolutePath().getParent();
                    if (prefix != null) sitePackages.addAll(pythonLibDirs(prefix));
                }
            }
        }
        sitePackages.addAll(pythonLibDirs(Path.of(System.getProperty("user.home"), ".local")));
        sitePackages.addAll(pythonLibDirs(Path.of("/usr/local")));
        sitePackages.addAll(pythonLibDirs(Path.of("/usr")));
        List<Path> torch = new ArrayList<>();
        for (Path dir : sitePackages) {
            Path candidate = dir.resolve("torch");
            if (Files.isDirectory(candidate)) torch.add(candidate);
        }
        return torch;
    }

    /** {@code prefix/lib/python3.X/{site,dist}-packages} and Debian's {@code prefix/lib/python3/dist-packages}. */
    private static List<Path> pythonLibDirs(Path prefix) {
        List<Path> dirs = new ArrayList<>();
        Path lib = prefix.resolve("lib");
        if (!Files.isDirectory(lib)) return dirs;
        try (Stream<Path> entries = Files.list(lib)) {
            entries.filter(p -> p.getFileName().toString().startsWith("python3")).sorted().forEach(p -> {
                dirs.add(p.resolve("site-packages"));
                dirs.add(p.resolve("dist-packages"));
            });
        } catch (IOException e) {
            return dirs;
        }
        return dirs;
    }

    static Optional<String> version(Path torchPackage) {
        try {
            Matcher m = VERSION.matcher(Files.readString(torchPackage.resolve("version.py")));
            return m.find() ? Optional.of(m.group(1)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** True when a version such as "2.11.0+cu130" is at least major.minor. */
    static boolean atLeast(String version, int major, int minor) {
        Matcher m = Pattern.compile("^(\\d+)\\.(\\d+)").matcher(version);
        if (!m.find()) return false;
        int maj = Integer.parseInt(m.group(1)), min = Integer.parseInt(m.group(2));
        return maj > major || (maj == major && min >= minor);
    }
}
