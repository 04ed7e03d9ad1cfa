<?xml version="1.0" encoding="UTF-8"?>
<!-- Hostile: tries to write a file with xsl:document (XSLT 1.1, which
     libxslt implements). Must fail. -->
<xsl:stylesheet version="1.1" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns="http://www.w3.org/2005/xpath-functions">
  <xsl:template match="/">
    <xsl:document href="/tmp/lingua-xslt-escape.txt" method="text">escaped</xsl:document>
    <map/>
  </xsl:template>
</xsl:stylesheet>
