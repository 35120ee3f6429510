package io.gluelabeling;

import java.util.Locale;
import org.apache.spark.sql.api.java.UDF1;

/**
 * The comparison form of a value, in one pass over its characters: lower case, the accented
 * Latin letters of normalize.py's table folded to their base letters, every run of characters
 * that are neither letters (\p{L}) nor numbers (\p{N}) turned into one space, no space at either
 * end; null for null or when nothing is left. It replaced lower + translate + regexp_replace +
 * trim, which cost several times a plain lower on every column (normalize.py says how much).
 */
public final class NormalizeText implements UDF1<String, String> {
  // normalize.py's ACCENTED and PLAIN: translate() maps each character of the one to the same
  // position of the other.
  private static final String ACCENTED = "àáâãäåāçćčèéêëēęìíîïīłñńòóôõöøōśšùúûüūýÿžźż";
  private static final String PLAIN = "aaaaaaaccceeeeeeiiiiilnnoooooooss" + "uuuuuyyzzz";
  // FOLDED[c]: c after the table, for every c below its highest accented letter.
  private static final char[] FOLDED = folded();

  // Reused between calls: Spark calls one instance from one task thread (StringSimilarity).
  private char[] output = new char[64];

  private static char[] folded() {
    char highest = 0;
    for (int i = 0; i < ACCENTED.length(); i++) {
      highest = (char) Math.max(highest, ACCENTED.charAt(i));
    }
    char[] folded = new char[highest + 1];
    for (char c = 0; c < folded.length; c++) {
      folded[c] = c;
    }
    for (int i = 0; i < ACCENTED.length(); i++) {
      folded[ACCENTED.charAt(i)] = PLAIN.charAt(i);
    }
    return folded;
  }

  @Override
  public String call(String text) {
    return text == null ? null : normalized(text, false);
  }

  /** `lowered`: text is already in lower case (the whole-string path below). */
  private String normalized(String text, boolean lowered) {
    int length = text.length();
    if (output.length < length) {
      output = new char[Math.max(length, 2 * output.length)];
    }
    char[] out = output;
    int size = 0;
    boolean separated = false; // a run of separators since the last kept character
    int width; // of the character at i: 2 for a surrogate pair
    for (int i = 0; i < length; i += width) {
      char c = text.charAt(i);
      width = 1;
      boolean kept;
      if (c < 0x80) {
        if (c >= 'A' && c <= 'Z') {
          c += 'a' - 'A';
        }
        kept = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      } else if (!lowered && lowerCaseNeedsWholeString(c)) {
        // Σ lower-cases to ς at the end of a word, İ to two characters, and characters beyond
        // U+FFFF come as surrogate pairs: Java's String.toLowerCase (which Spark's lower uses)
        // knows all three. Rare enough to take the slow road.
        return normalized(text.toLowerCase(Locale.ROOT), true);
      } else if (Character.isHighSurrogate(c) && i + 1 < length && Character.isLowSurrogate(text.charAt(i + 1))) {
        width = 2;
        kept = isLetterOrNumber(text.codePointAt(i));
      } else {
        if (!lowered) {
          c = Character.toLowerCase(c);
        }
        if (c < FOLDED.length) {
          c = FOLDED[c];
        }
        kept = isLetterOrNumber(c);
      }
      if (!kept) {
        separated = true;
        continue;
      }
      if (separated && size > 0) {
        out[size++] = ' ';
      }
      separated = false;
      if (width == 1) {
        out[size++] = c;
      } else {
        text.getChars(i, i + 2, out, size);
        size += 2;
      }
    }
    return size == 0 ? null : new String(out, 0, size);
  }

  private static boolean lowerCaseNeedsWholeString(char c) {
    return c == '\u03A3' || c == '\u0130' || Character.isSurrogate(c);
  }

  /** What java.util.regex means by [\p{L}\p{N}]. */
  private static boolean isLetterOrNumber(int codePoint) {
    switch (Character.getType(codePoint)) {
      case Character.UPPERCASE_LETTER:
      case Character.LOWERCASE_LETTER:
      case Character.TITLECASE_LETTER:
      case Character.MODIFIER_LETTER:
      case Character.OTHER_LETTER:
      case Character.DECIMAL_DIGIT_NUMBER:
      case Character.LETTER_NUMBER:
      case Character.OTHER_NUMBER:
        return true;
      default:
        return false;
    }
  }
}
