package mqdrill.driver;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.util.Set;

/** The plan protocol's encoding: one JSON object per line (NDJSON), as harness/load/protocol.ts defines it. */
public final class Protocol {
  public static final int VERSION = 1;
  private static final Set<String> ENGINE_TYPES = Set.of("plan", "start", "stop", "clock");
  static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

  private Protocol() {}

  /** Parses one engine line; throws with the line quoted when it is not an engine message of this version. */
  public static Plan.EngineMessage decode(String line) {
    Plan.EngineMessage m;
    try {
      m = GSON.fromJson(line, Plan.EngineMessage.class);
    } catch (JsonParseException e) {
      throw new IllegalArgumentException("not an engine message: " + e.getMessage() + ": " + clip(line, 200), e);
    }
    if (m == null || m.type == null || !ENGINE_TYPES.contains(m.type)) {
      throw new IllegalArgumentException("not an engine message: " + clip(line, 200));
    }
    if (m.type.equals("plan") && m.protocol != VERSION) {
      throw new IllegalArgumentException(
          "plan protocol " + m.protocol + ", this driver speaks " + VERSION + ": rebuild it (`mqdrill setup`)");
    }
    return m;
  }

  /** One line (with its newline) for a driver message: any object Gson can write. */
  public static String encode(Object message) {
    return GSON.toJson(message) + "\n";
  }

  static String clip(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "...";
  }
}
