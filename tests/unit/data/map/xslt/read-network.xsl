<?xml version="1.0" encoding="UTF-8"?>
<!-- Hostile: tries to fetch a URL with document(). Must fail. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns="http://www.w3.org/2005/xpath-functions">
  <xsl:template match="/">
    <map><string key="leak"><xsl:value-of select="document('http://127.0.0.1:9/x.xml')"/></string></map>
  </xsl:template>
</xsl:stylesheet>
