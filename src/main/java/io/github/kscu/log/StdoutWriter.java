package io.github.kscu.log;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.EnumSet;
import org.tinylog.core.LogEntry;
import org.tinylog.core.LogEntryValue;
import org.tinylog.writers.Writer;

/**
 * A tinylog writer of whole lines on stdout, one per entry: the format is the subclass's, which also
 * escapes every control character a value could carry, so no logged value can start a line of its own.
 * (tinylog's console writer prints messages as they are; its JSON writer needs a seekable file.)
 */
abstract class StdoutWriter implements Writer {
    private final OutputStream out;

    StdoutWriter(OutputStream out) {
        this.out = out;
    }

    static OutputStream stdout() {
        return new FileOutputStream(FileDescriptor.out);
    }

    /** The line for one entry, newline included. */
    abstract String line(LogEntry entry);

    @Override
    public Collection<LogEntryValue> getRequiredLogEntryValues() {
        return EnumSet.of(LogEntryValue.DATE, LogEntryValue.LEVEL, LogEntryValue.TAG, LogEntryValue.MESSAGE,
                LogEntryValue.EXCEPTION, LogEntryValue.CLASS);
    }

    static String logger(LogEntry entry) {
        return entry.getTag() != null ? entry.getTag() : entry.getClassName();
    }

    @Override
    public void write(LogEntry entry) throws IOException {
        byte[] bytes = line(entry).getBytes(StandardCharsets.UTF_8);
        synchronized (this) {
            out.write(bytes);
        }
    }

    @Override
    public void flush() throws IOException {
        synchronized (this) {
            out.flush();
        }
    }

    @Override
    public void close() throws IOException {
        flush();
    }
}
