#include "static_files.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

namespace parley::console {
namespace {

sdk::Request get(const std::string& if_none_match = {}) {
  sdk::Request r;
  r.method = "GET";
  r.path = "/";
  if (!if_none_match.empty()) r.headers = {{"if-none-match", if_none_match}};
  return r;
}

std::string header(const sdk::Response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return {};
}

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(StaticFiles, LoadsTheShippedConsoleWithItsPagesAndTypes) {
  const StaticFiles files = StaticFiles::load(PARLEY_CONSOLE_WEB_DIR);
  for (const char* page : {"index.html", "dashboard.html"}) {
    const StaticFile* f = files.find(page);
    ASSERT_NE(f, nullptr) << page;
    EXPECT_EQ(f->content_type, "text/html; charset=utf-8");
    EXPECT_FALSE(f->body.empty());
  }
  const StaticFile* uplot = files.find("vendor/uplot/uPlot.iife.min.js");
  ASSERT_NE(uplot, nullptr);
  EXPECT_EQ(uplot->content_type, "text/javascript; charset=utf-8");
  ASSERT_NE(files.find("vendor/uplot/LICENSE"), nullptr) << "a vendored library ships its licence";
  EXPECT_EQ(files.find("nope.js"), nullptr);
}

TEST(StaticFiles, TheVendoredUplotIsTheVersionPinnedInVendorSh) {
  const std::string script = readAll(PARLEY_CONSOLE_VENDOR_SCRIPT);
  std::smatch pinned;
  ASSERT_TRUE(std::regex_search(script, pinned, std::regex("UPLOT_VERSION=([0-9.]+)")));
  const StaticFiles files = StaticFiles::load(PARLEY_CONSOLE_WEB_DIR);
  const StaticFile* uplot = files.find("vendor/uplot/uPlot.iife.min.js");
  ASSERT_NE(uplot, nullptr);
  EXPECT_EQ(
      uplot->body.rfind("/*! https://github.com/leeoniya/uPlot (v" + pinned[1].str() + ")", 0), 0u)
      << "run plugins/console/vendor.sh after changing the pinned version";
}

TEST(StaticFiles, NoPageHasInlineScriptOrThirdPartyOrigins) {
  const StaticFiles files = StaticFiles::load(PARLEY_CONSOLE_WEB_DIR);
  for (const auto& [path, file] : files.files()) {
    if (file.content_type.rfind("text/html", 0) != 0) continue;
    // Every <script> has a src on this origin; no on* handler attributes; no external URLs.
    std::regex script_tag("<script([^>]*)>");
    for (std::sregex_iterator it(file.body.begin(), file.body.end(), script_tag), end; it != end;
         ++it) {
      const std::string attrs = (*it)[1];
      EXPECT_NE(attrs.find("src=\"/console/"), std::string::npos) << path << ": " << it->str();
    }
    EXPECT_FALSE(std::regex_search(file.body, std::regex("\\son[a-z]+=\"")))
        << path << " has an inline event handler";
    EXPECT_EQ(file.body.find("http://"), std::string::npos) << path;
    EXPECT_EQ(file.body.find("https://"), std::string::npos) << path;
  }
}

TEST(StaticFiles, ContentTypesByExtension) {
  EXPECT_EQ(StaticFiles::contentTypeOf("a/b.css"), "text/css; charset=utf-8");
  EXPECT_EQ(StaticFiles::contentTypeOf("x.svg"), "image/svg+xml");
  EXPECT_EQ(StaticFiles::contentTypeOf("LICENSE"), "text/plain; charset=utf-8");
  EXPECT_EQ(StaticFiles::contentTypeOf("blob.bin"), "application/octet-stream");
}

TEST(StaticFiles, EtagsFollowTheBytes) {
  EXPECT_EQ(StaticFiles::etagOf("abc"), StaticFiles::etagOf("abc"));
  EXPECT_NE(StaticFiles::etagOf("abc"), StaticFiles::etagOf("abd"));
  EXPECT_NE(StaticFiles::etagOf(""), StaticFiles::etagOf(std::string(1, '\0')));
  const std::string tag = StaticFiles::etagOf("abc");
  EXPECT_EQ(tag.front(), '"');
  EXPECT_EQ(tag.back(), '"');
}

TEST(StaticFiles, IfNoneMatchUsesWeakComparisonListsAndStar) {
  const std::string tag = "\"abc-3\"";
  EXPECT_TRUE(StaticFiles::noneMatchHits("\"abc-3\"", tag));
  EXPECT_TRUE(StaticFiles::noneMatchHits("W/\"abc-3\"", tag));
  EXPECT_TRUE(StaticFiles::noneMatchHits("\"x\", \"abc-3\"", tag));
  EXPECT_TRUE(StaticFiles::noneMatchHits("*", tag));
  EXPECT_FALSE(StaticFiles::noneMatchHits("", tag));
  EXPECT_FALSE(StaticFiles::noneMatchHits("\"abc\"", tag));
  EXPECT_FALSE(StaticFiles::noneMatchHits("abc-3", tag));    // unquoted: malformed
  EXPECT_FALSE(StaticFiles::noneMatchHits("\"abc-3", tag));  // unterminated
  EXPECT_FALSE(StaticFiles::noneMatchHits("W/", tag));
}

TEST(StaticFiles, ServeAnswers200ThenNotModifiedWithTheSecurityHeaders) {
  StaticFile file{"<p>hi</p>", "text/html; charset=utf-8", StaticFiles::etagOf("<p>hi</p>")};
  const sdk::Response full = StaticFiles::serve(file, get());
  EXPECT_EQ(full.status, 200);
  EXPECT_EQ(full.body, "<p>hi</p>");
  EXPECT_EQ(full.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(full, "ETag"), file.etag);
  EXPECT_EQ(header(full, "X-Content-Type-Options"), "nosniff");
  const std::string csp = header(full, "Content-Security-Policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);

  const sdk::Response cached = StaticFiles::serve(file, get(file.etag));
  EXPECT_EQ(cached.status, 304);
  EXPECT_TRUE(cached.body.empty());
  EXPECT_EQ(header(cached, "ETag"), file.etag);

  EXPECT_EQ(StaticFiles::serve(file, get("\"stale\"")).status, 200);
}

TEST(StaticFiles, AMissingRootIsAnErrorNamingIt) {
  try {
    StaticFiles::load("/nonexistent/parley-console");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/parley-console"), std::string::npos);
  }
}

}  // namespace
}  // namespace parley::console
