#include "core/metrics/contract.hpp"

namespace parley::core {

const std::vector<ContractField>& contractFields() {
  using K = FieldKind;
  static const std::vector<ContractField> fields = {
      {"ws_connections_active", K::kGauge, "Current open websocket connections."},
      {"ws_rooms_active", K::kGauge, "Rooms with at least one local connection."},
      {"ws_disconnects_total", K::kCounter, "Websocket disconnects observed."},
      {"ws_disconnect_client_disconnect", K::kCounter, "Disconnects caused by the client."},
      {"ws_disconnect_stop_command", K::kCounter, "Disconnects from an explicit stop command."},
      {"ws_disconnect_receive_audio_error", K::kCounter, "Disconnects from receive-loop errors."},
      {"ws_disconnect_deepgram_error", K::kCounter, "Disconnects from transcription errors."},
      {"ws_disconnect_socket_closed", K::kCounter, "Disconnects because the socket was unusable."},
      {"ws_disconnect_max_turns_reached", K::kCounter, "Disconnects after the turn limit."},
      {"ws_disconnect_other", K::kCounter, "Disconnects of no known category."},
      {"answer_streams_started", K::kCounter, "Answer suggestion streams started."},
      {"answer_streams_cancelled", K::kCounter, "Answer suggestion streams cancelled."},
      {"emotional_events_emitted", K::kCounter, "Emotional and tone-pressure events emitted."},
      {"assist_hints_emitted", K::kCounter, "Realtime assist hints emitted."},
      {"share_tokens_active", K::kGauge, "Unexpired, unrevoked share tokens."},
      {"share_tokens_revoked", K::kCounter, "Revoked share tokens."},
      {"avg_stream_duration", K::kAverage, "Answer stream duration in seconds.", 4,
       "stream_duration_total_sec", "stream_duration_samples"},
      {"avg_latency_ms", K::kAverage, "Turn finalization latency in milliseconds.", 2,
       "latency_total_ms", "latency_samples"},
      {"avg_redis_publish_latency_ms", K::kAverage,
       "Redis PUBLISH round trip for room fanout, in milliseconds.", 2, "redis_publish_total_ms",
       "redis_publish_samples"},
      {"avg_fanout_delay_ms", K::kAverage,
       "Cross-instance fanout delay (publish to remote dispatch), in milliseconds.", 2,
       "fanout_delay_total_ms", "fanout_delay_samples"},
      {"share_token_ttl_sec", K::kGauge, "Configured share token TTL in seconds."},
  };
  return fields;
}

}  // namespace parley::core
