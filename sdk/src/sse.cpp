// The event-stream format as the WHATWG HTML standard defines its parsing (9.2.6).
#include "parley/sdk/upstreams.hpp"

namespace parley::sdk {

bool SseSplitter::feed(std::string_view bytes, const std::function<void(const Event&)>& on_event) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c == '\n' && after_cr_) {  // the \n of a \r\n split across feeds, or just seen
      after_cr_ = false;
      start = i + 1;
      continue;
    }
    after_cr_ = false;
    if (c != '\n' && c != '\r') continue;
    if (partial_.empty()) {
      line(bytes.substr(start, i - start), on_event);
    } else {
      partial_.append(bytes.substr(start, i - start));
      line(partial_, on_event);
      partial_.clear();
    }
    after_cr_ = c == '\r';
    start = i + 1;
  }
  partial_.append(bytes.substr(start));
  return partial_.size() <= max_line_;
}

void SseSplitter::line(std::string_view text, const std::function<void(const Event&)>& on_event) {
  if (text.empty()) {  // a blank line ends the event
    if (has_data_) {
      if (!event_.data.empty() && event_.data.back() == '\n') event_.data.pop_back();
      on_event(event_);
    }
    const std::string id = std::move(event_.id);  // the last id carries over
    event_ = Event{};
    event_.id = id;
    has_data_ = false;
    return;
  }
  if (text.front() == ':') return;  // a comment (keep-alive)
  const auto colon = text.find(':');
  const std::string_view field = text.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    event_.data.append(value);
    event_.data.push_back('\n');
    has_data_ = true;
  } else if (field == "event") {
    event_.event.assign(value);
  } else if (field == "id" && value.find('\0') == std::string_view::npos) {
    event_.id.assign(value);
  }  // "retry" and unknown fields are ignored
}

}  // namespace parley::sdk
