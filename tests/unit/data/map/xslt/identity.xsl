<?xml version="1.0" encoding="UTF-8"?>
<!-- Copies its input: JSON in, the same JSON out. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><xsl:copy-of select="."/></xsl:template>
</xsl:stylesheet>
