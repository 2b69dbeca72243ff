# Sourced by bin/linlens, bin/test and .ci/run: finds a JDK 25+ and exports JAVA_HOME and PATH.
# Order: $JAVA_HOME if it is 25+, the Temurin 25 install path, any /usr/lib/jvm/*25* or newer.
linlens_java_major() { "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }
linlens_find_jdk() {
  local c
  for c in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk-arm64 /usr/lib/jvm/*; do
    [ -n "$c" ] && [ -x "$c/bin/javac" ] || continue
    local major; major=$(linlens_java_major "$c")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then echo "$c"; return 0; fi
  done
  return 1
}
if ! LINLENS_JDK=$(linlens_find_jdk); then
  echo "linlens: JDK 25 not found: install Temurin 25 (/usr/lib/jvm/temurin-25-jdk-amd64) or set JAVA_HOME to a JDK 25+" >&2
  exit 2
fi
export JAVA_HOME="$LINLENS_JDK"
export PATH="$JAVA_HOME/bin:$PATH"
