<?xml version="1.0" encoding="UTF-8"?>
<!-- Hostile: tries to read a local file with document(). Must fail. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns="http://www.w3.org/2005/xpath-functions">
  <xsl:template match="/">
    <map><string key="leak"><xsl:value-of select="document('file:///etc/passwd')"/></string></map>
  </xsl:template>
</xsl:stylesheet>
