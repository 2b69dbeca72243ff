package linlens.tokenizer;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/**
 * The global functions transformers gives chat templates, for {@link ChatTemplate}'s engine
 * (public and static: Jinjava calls them by reflection).
 */
public final class ChatTemplateFunctions {
    private ChatTemplateFunctions() {}

    /** {@code raise_exception(message)}: the template refuses the conversation. */
    public static Object raiseException(Object message) {
        throw ChatTemplate.Rendering.stop("the template raised: " + ChatTemplate.oneLine(String.valueOf(message)));
    }

    /** {@code strftime_now(format)}: the rendering's clock, formatted as Python's strftime (C locale). */
    public static String strftimeNow(String format) {
        ChatTemplate.Rendering r = ChatTemplate.Rendering.CURRENT.get();
        ZonedDateTime now = ZonedDateTime.now(r == null ? java.time.Clock.systemDefaultZone() : r.clock);
        return strftime(now, format == null ? "" : format);
    }

    /** Python's strftime for the directives of the C standard, in the C locale. */
    static String strftime(ZonedDateTime t, String format) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) { out.append(c); continue; }
            char d = format.charAt(++i);
            boolean noPad = false;
            if (d == '-' && i + 1 < format.length()) { noPad = true; d = format.charAt(++i); }
            switch (d) {
                case 'Y' -> out.append(t.getYear());
                case 'y' -> out.append(pad(t.getYear() % 100, 2, noPad));
                case 'm' -> out.append(pad(t.getMonthValue(), 2, noPad));
                case 'd' -> out.append(pad(t.getDayOfMonth(), 2, noPad));
                case 'e' -> out.append(noPad ? String.valueOf(t.getDayOfMonth()) : String.format("%2d", t.getDayOfMonth()));
                case 'j' -> out.append(pad(t.getDayOfYear(), 3, noPad));
                case 'H' -> out.append(pad(t.getHour(), 2, noPad));
                case 'I' -> out.append(pad((t.getHour() + 11) % 12 + 1, 2, noPad));
                case 'M' -> out.append(pad(t.getMinute(), 2, noPad));
                case 'S' -> out.append(pad(t.getSecond(), 2, noPad));
                case 'p' -> out.append(t.getHour() < 12 ? "AM" : "PM");
                case 'b', 'h' -> out.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> out.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'w' -> out.append(t.getDayOfWeek().getValue() % 7);
                case 'u' -> out.append(t.getDayOfWeek().getValue());
                case 'F' -> out.append(String.format("%04d-%02d-%02d", t.getYear(), t.getMonthValue(), t.getDayOfMonth()));
                case 'T' -> out.append(String.format("%02d:%02d:%02d", t.getHour(), t.getMinute(), t.getSecond()));
                case '%' -> out.append('%');
                default -> out.append('%').append(noPad ? "-" : "").append(d);
            }
        }
        return out.toString();
    }

    private static String pad(int v, int width, boolean noPad) {
        return noPad ? String.valueOf(v) : String.format("%0" + width + "d", v);
    }
}
