package linlens.scan;

import linlens.model.InputException;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks the file {@code --dataset} came to (a path as given, or a built-in dataset's cached JSONL
 * from {@code linlens.datasets.Datasets.resolve}): one that exists, is a regular file and can be read.
 */
@FunctionalInterface
public interface DatasetResolver {
    /** The dataset's file; an {@link InputException} naming the dataset when there is none. */
    Path resolve(String name);

    /** Paths only. */
    DatasetResolver FILES = name -> {
        Path p = Path.of(name);
        if (!Files.exists(p)) throw new InputException("--dataset " + name + ": no such file");
        if (!Files.isRegularFile(p)) throw new InputException("--dataset " + name + ": not a regular file");
        if (!Files.isReadable(p)) throw new InputException("--dataset " + name + ": cannot be read (permission denied)");
        return p;
    };
}
