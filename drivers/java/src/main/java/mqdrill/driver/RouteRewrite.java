package mqdrill.driver;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.remoting.protocol.RequestCode;

/**
 * Points the remoting client at the fault proxy in front of each broker: the name server's routes name the broker's
 * own address (brokerIP1:listenPort), and a Toxiproxy proxy cannot change that, so this hook rewrites each address in
 * a route answer to its proxy before the client reads it (like a hosts-file entry; nothing else is changed). Every
 * broker connection the client opens afterwards, sends, pulls, heartbeats, goes through the proxy.
 */
public final class RouteRewrite implements RPCHook {
  private final Map<String, String> routes;

  public RouteRewrite(Map<String, String> routes) {
    this.routes = Map.copyOf(routes);
  }

  @Override
  public void doBeforeRequest(String remoteAddr, RemotingCommand request) {}

  @Override
  public void doAfterResponse(String remoteAddr, RemotingCommand request, RemotingCommand response) {
    if (response == null || response.getBody() == null) return;
    int code = request.getCode();
    if (code != RequestCode.GET_ROUTEINFO_BY_TOPIC && code != RequestCode.GET_BROKER_CLUSTER_INFO) return;
    response.setBody(rewrite(response.getBody(), routes));
  }

  /** The body with every quoted "host:port" of the map replaced by its proxy. */
  static byte[] rewrite(byte[] body, Map<String, String> routes) {
    String text = new String(body, StandardCharsets.UTF_8);
    String out = text;
    for (Map.Entry<String, String> e : routes.entrySet()) {
      out = out.replace("\"" + e.getKey() + "\"", "\"" + e.getValue() + "\"");
    }
    return out.equals(text) ? body : out.getBytes(StandardCharsets.UTF_8);
  }
}
