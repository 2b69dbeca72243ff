package linlens.scan;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Lines of a text file, as bytes decoded strictly: a line that is not UTF-8 is reported as such
 * (the caller records that row as bad) rather than silently repaired. A line ends at '\n' (a
 * '\r' before it is dropped); the text after the last '\n', if any, is the last line. A line
 * longer than {@link #MAX_LINE} bytes is read past and reported, so that one huge line cannot
 * exhaust the memory.
 */
final class LineReader implements AutoCloseable {
    /** The longest line kept: far above any prompt a model takes. */
    static final int MAX_LINE = 16 << 20;

    /** One line: its text, or why there is none. */
    record Line(String text, String error) {}

    private final InputStream in;
    private final byte[] buf = new byte[1 << 16];
    private int pos, end;
    private boolean first = true;

    LineReader(InputStream in) {
        this.in = in;
    }

    /** The next line, or null at the end of the file. */
    Line next() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        boolean any = false, tooLong = false;
        while (true) {
            if (pos == end) {
                end = in.read(buf, 0, buf.length);
                pos = 0;
                if (end <= 0) {
                    end = 0;
                    if (!any) return null;
                    break;
                }
            }
            any = true;
            int start = pos;
            while (pos < end && buf[pos] != '\n') pos++;
            if (!tooLong) {
                if (line.size() + (pos - start) > MAX_LINE) tooLong = true;
                else line.write(buf, start, pos - start);
            }
            if (pos < end) {
                pos++;  // the '\n'
                break;
            }
        }
        boolean wasFirst = first;
        first = false;
        if (tooLong) return new Line(null, "line longer than " + (MAX_LINE >> 20) + " MiB");
        byte[] b = line.toByteArray();
        int len = b.length > 0 && b[b.length - 1] == '\r' ? b.length - 1 : b.length;
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b, 0, len)).toString();
            // a byte order mark opens some files: not part of the first line's text
            if (wasFirst && s.startsWith("\uFEFF")) s = s.substring(1);
            return new Line(s, null);
        } catch (CharacterCodingException e) {
            return new Line(null, "line is not valid UTF-8");
        }
    }

    @Override
    public void close() throws IOException { in.close(); }
}
